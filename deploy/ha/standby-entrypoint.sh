#!/bin/sh
# The standby: on first start, a base backup of the primary (-R writes standby.signal and
# primary_conninfo), then the server itself, as the postgres user. Its application_name is
# what the primary's synchronous_standby_names waits for.
set -eu
: "${PRIMARY_HOST:?}" "${REPLICATION_PASSWORD:?}"
export PGPASSWORD="$REPLICATION_PASSWORD"
mkdir -p "$PGDATA"
chown postgres:postgres "$PGDATA"
chmod 700 "$PGDATA"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  until su-exec postgres pg_isready -h "$PRIMARY_HOST" -U replicator -d postgres; do sleep 1; done
  su-exec postgres pg_basebackup -h "$PRIMARY_HOST" -U replicator -D "$PGDATA" \
    -R -X stream --checkpoint=fast
  # The copy brings the primary's synchronous_standby_names along. Promoted, this server
  # runs alone until a new standby is attached: waiting for one would stop every write.
  echo "synchronous_standby_names = ''" >> "$PGDATA/postgresql.auto.conf"
fi
exec su-exec postgres postgres -D "$PGDATA" \
  -c hot_standby=on \
  -c "primary_conninfo=host=$PRIMARY_HOST user=replicator password=$REPLICATION_PASSWORD application_name=standby1"
