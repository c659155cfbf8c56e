#!/bin/sh
# Run once by the postgres image on the primary's first start (docker-entrypoint-initdb.d):
# a role for the standby's streaming connection, the pg_hba line that lets it in, and the
# standby every commit waits for. The last one goes through ALTER SYSTEM (postgresql.auto.conf)
# and so starts with the real server, after this setup: set now, this setup's own commits
# would wait for a standby that cannot connect yet.
set -eu
psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" <<SQL
CREATE ROLE replicator WITH REPLICATION LOGIN PASSWORD '${REPLICATION_PASSWORD}';
ALTER SYSTEM SET synchronous_standby_names = 'FIRST 1 (standby1)';
SQL
echo "host replication replicator all scram-sha-256" >> "$PGDATA/pg_hba.conf"
