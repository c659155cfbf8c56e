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
# The password goes to a file only the postgres user reads, never to the command line
# (where `ps` shows it) nor to primary_conninfo (pg_basebackup -R wrote it there: replaced
# on every start, so an older data directory loses it too).
passfile="$(dirname "$PGDATA")/replication.pgpass"
umask 077
escaped=$(printf '%s' "$REPLICATION_PASSWORD" | sed 's/[\\:]/\\&/g')
printf '*:*:*:replicator:%s\n' "$escaped" > "$passfile"
chown postgres:postgres "$passfile"
auto="$PGDATA/postgresql.auto.conf"
sed -i '/^primary_conninfo/d' "$auto"
echo "primary_conninfo = 'host=$PRIMARY_HOST user=replicator passfile=$passfile application_name=standby1'" >> "$auto"
chown postgres:postgres "$auto"
unset PGPASSWORD REPLICATION_PASSWORD
exec su-exec postgres postgres -D "$PGDATA" -c hot_standby=on
