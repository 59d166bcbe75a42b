#!/usr/bin/env bash
# A throwaway PostgreSQL server for the scale-out tests (tests/test_scale.py) and benchmarks.
#
#   eval "$(.ci/postgres.sh)"      # start; prints `export ABAUTO_TEST_POSTGRES=...; export ABAUTO_PG_DIR=...`
#   .ci/postgres.sh stop DIR       # stop the server started in DIR and delete DIR
#   source .ci/postgres.sh         # (what .ci/run does) start, export the variables, stop on exit
#
# Installs the Debian `postgresql` package when no server binaries are found, initialises a
# cluster in a fresh temporary directory (as the `postgres` user when run as root: the server
# refuses to run as root), listens on 127.0.0.1 only (port ABAUTO_PG_PORT, default the first
# free one from 55432; unix socket in the temporary directory, so the system's cluster and
# other sessions' servers are never touched) and creates the database `abauto`.
# Fails loudly (non-zero exit, server log on stderr) if the server cannot be started.

_abauto_pg_bindir() {
  local d
  if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
    pg_config --bindir; return 0
  fi
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
  return 1
}

_abauto_pg_as() {  # run a command as the postgres user when we are root
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

abauto_pg_stop() {
  local dir="${1:-${ABAUTO_PG_DIR:-}}" bin
  [ -n "$dir" ] && [ -d "$dir/data" ] || return 0
  bin=$(_abauto_pg_bindir) || return 0
  _abauto_pg_as "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

abauto_pg_start() {
  local bin dir port
  if ! bin=$(_abauto_pg_bindir); then
    echo "postgres.sh: installing the Debian postgresql package" >&2
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql) >&2 \
      || { echo "postgres.sh: error: apt-get could not install postgresql" >&2; return 1; }
    bin=$(_abauto_pg_bindir) || { echo "postgres.sh: error: no initdb after installing postgresql" >&2; return 1; }
  fi
  if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
    useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres >&2 \
      || { echo "postgres.sh: error: no postgres user to run the server as" >&2; return 1; }
  fi
  dir=$(mktemp -d "${TMPDIR:-/tmp}/abauto-pg.XXXXXX") || return 1
  [ "$(id -u)" = 0 ] && chown postgres: "$dir"
  chmod 700 "$dir"
  port="${ABAUTO_PG_PORT:-}"
  if [ -z "$port" ]; then  # the first free loopback port from 55432 (the machine may be shared)
    port=$(python3 - <<'EOF'
import socket
for p in range(55432, 55532):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            continue
        print(p)
        break
EOF
)
  fi
  if ! _abauto_pg_as "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2; echo "postgres.sh: error: initdb failed" >&2; rm -rf "$dir"; return 1
  fi
  # max_connections: every worker process holds a few pooled connections.
  if ! _abauto_pg_as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
       -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200" >/dev/null 2>&1; then
    cat "$dir/server.log" >&2 2>/dev/null; echo "postgres.sh: error: the server did not start on 127.0.0.1:$port" >&2
    rm -rf "$dir"; return 1
  fi
  if ! _abauto_pg_as "$bin/createdb" -h 127.0.0.1 -p "$port" -U postgres abauto >&2; then
    echo "postgres.sh: error: createdb failed" >&2; abauto_pg_stop "$dir"; return 1
  fi
  export ABAUTO_PG_DIR="$dir"
  export ABAUTO_TEST_POSTGRES="postgresql://postgres@127.0.0.1:$port/abauto"
  echo "postgres.sh: PostgreSQL $("$bin/postgres" --version | awk "{print \$3}") on 127.0.0.1:$port (data in $dir)" >&2
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then  # executed, not sourced
  set -euo pipefail
  if [ "${1:-}" = stop ]; then
    abauto_pg_stop "${2:-}"
    exit 0
  fi
  abauto_pg_start
  echo "export ABAUTO_TEST_POSTGRES=$ABAUTO_TEST_POSTGRES; export ABAUTO_PG_DIR=$ABAUTO_PG_DIR"
  echo "postgres.sh: stop it with: $0 stop $ABAUTO_PG_DIR" >&2
else  # sourced: start now, stop when the sourcing shell exits
  abauto_pg_start || return 1
  trap 'abauto_pg_stop "$ABAUTO_PG_DIR"' EXIT
fi
