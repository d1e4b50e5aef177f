# Sourced by .ci/run and .ci/repeat-tests: PostgreSQL for the storage tests, which fail instead
# of skipping when it is missing here. Installed when missing, started when stopped; a login role
# of the caller's own, with CREATEDB and CREATEROLE (the tests make a role and a database per
# suite and drop them), dropped when the caller exits. Exports the tests' environment.
if [ "$(id -u)" != 0 ]; then echo "PostgreSQL setup needs root" >&2; exit 1; fi
if ! command -v pg_ctlcluster >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
if [ -z "$(pg_lsclusters --no-header 2>/dev/null)" ]; then
  pg_createcluster "$(ls /usr/lib/postgresql | sort -n | tail -1)" main >/dev/null
fi
read -r pg_version pg_cluster pg_port pg_status _ <<<"$(pg_lsclusters --no-header | sort -k1,1n | tail -1)"
if [ "$pg_status" != online ]; then
  pg_ctlcluster --skip-systemctl-redirect "$pg_version" "$pg_cluster" start
fi
pg_lsclusters --no-header "$pg_version" "$pg_cluster" | grep -q online || { echo "PostgreSQL $pg_version/$pg_cluster did not start" >&2; exit 1; }
pg_role="tessera_ci_$$"
pg_password="$(openssl rand -hex 16)"
su postgres -c "psql -X -q -p $pg_port -v ON_ERROR_STOP=1" <<<"CREATE ROLE $pg_role LOGIN CREATEDB CREATEROLE PASSWORD '$pg_password';"
trap 'su postgres -c "psql -X -q -p $pg_port" <<<"DROP ROLE IF EXISTS $pg_role;" >/dev/null 2>&1 || true' EXIT
export TESSERA_TEST_PG_URL="postgres://$pg_role:$pg_password@127.0.0.1:$pg_port/postgres"
export TESSERA_REQUIRE_PG=1
# The sslmode tests against a throwaway TLS cluster of their own (about 15 s).
export TESSERA_TEST_PG_TLS=1
echo "PostgreSQL $pg_version/$pg_cluster online on port $pg_port; tests connect as $pg_role"
