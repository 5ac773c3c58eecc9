#!/usr/bin/env bash
# Runs a throwaway PostgreSQL cluster on 127.0.0.1 for the tests, from Debian's `postgresql`
# package. Nothing here is fit for production: the cluster has fsync off and a fixed password.
#
#   scripts/test-postgres.sh start [DIR] [PORT]   initdb DIR if needed, start it, create the
#                                                  database tdb_test, print its URL on stdout
#   scripts/test-postgres.sh stop [DIR]           stop the cluster (fast shutdown), keep DIR
#   scripts/test-postgres.sh destroy [DIR]        stop the cluster and delete DIR
#
# DIR defaults to $TMPDIR/tdb-test-postgres and PORT to 55432. The tests read the printed URL
# from TDB_TEST_POSTGRES_URL, for example:
#   export TDB_TEST_POSTGRES_URL="$(scripts/test-postgres.sh start)"
# Run as root, the cluster runs as the `postgres` user, because PostgreSQL refuses to run as root.
set -euo pipefail

command_name="${1:-}"
dir="${2:-${TMPDIR:-/tmp}/tdb-test-postgres}"
port="${3:-55432}"
user=tdb
password=tdb-test-password
database=tdb_test

fail() {
  echo "test-postgres: $*" >&2
  exit 1
}

find_bindir() {
  local initdb
  if initdb="$(command -v initdb)"; then
    dirname "$(readlink -f "$initdb")"
    return
  fi
  # Debian keeps the server binaries off PATH, in one folder per major version.
  local newest
  newest="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [[ -n "$newest" && -x "$newest/initdb" ]] ||
    fail "PostgreSQL server binaries not found; install them with: apt-get install -y postgresql"
  echo "$newest"
}

# Runs a server binary as the cluster's owner: `postgres` under root, the caller otherwise.
as_owner() {
  if [[ "$(id -u)" == 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

is_running() {
  [[ -f "$dir/data/PG_VERSION" ]] && as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1
}

start() {
  [[ "$port" =~ ^[0-9]+$ ]] || fail "invalid PORT \"$port\": expected a TCP port number"
  mkdir -p "$dir"
  if [[ "$(id -u)" == 0 ]]; then chown postgres: "$dir"; fi

  if [[ ! -f "$dir/data/PG_VERSION" ]]; then
    local password_file="$dir/password"
    printf '%s\n' "$password" >"$password_file"
    if [[ "$(id -u)" == 0 ]]; then chown postgres: "$password_file"; fi
    as_owner "$bindir/initdb" --pgdata="$dir/data" --username="$user" --pwfile="$password_file" \
      --auth=scram-sha-256 --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
      fail "initdb failed; see $dir/initdb.log"
    rm -f "$password_file"
  fi

  if ! is_running; then
    # The socket folder is the cluster's own, so no system folder has to be writable.
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
      start >/dev/null || fail "the server did not start; see $dir/server.log"
  fi

  export PGPASSWORD="$password"
  local exists
  exists="$("$bindir/psql" -h 127.0.0.1 -p "$port" -U "$user" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = '$database'")"
  if [[ "$exists" != 1 ]]; then
    "$bindir/createdb" -h 127.0.0.1 -p "$port" -U "$user" "$database"
  fi

  echo "postgres://$user:$password@127.0.0.1:$port/$database"
}

stop() {
  if is_running; then
    as_owner "$bindir/pg_ctl" -D "$dir/data" -m fast -w -t 60 stop >/dev/null
  fi
}

bindir="$(find_bindir)"

case "$command_name" in
  start) start ;;
  stop) stop ;;
  destroy)
    stop
    rm -rf "$dir"
    ;;
  *) fail "usage: scripts/test-postgres.sh start|stop|destroy [DIR] [PORT]" ;;
esac
