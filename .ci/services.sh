# shellcheck shell=bash
# .ci/services.sh: throwaway PostgreSQL and Redis servers on loopback for the test suite.
# Nothing runs on a fresh CI machine. Each server keeps its data and socket in its own temporary
# folder, listens on 127.0.0.1 only, and is stopped by stop_services (the EXIT trap in .ci/run).
# Their addresses are exported as CI_POSTGRES_URL and CI_REDIS_URL; .ci/run hands them to the
# suite pass that runs on them (PORTCULLIS_TEST_DATABASE_URL, PORTCULLIS_TEST_REDIS_URL), so the
# default pass stays on SQLite.
#
# These functions run in .ci/run's own shell (not in a step's subshell): their exports must reach
# the test steps, and the trap must see what they started.

# A free loopback port, so a server already running on the machine (a developer's) never collides.
ci_free_port() {
  node -e "const s = require('node:net').createServer().listen(0, '127.0.0.1', () => { console.log(s.address().port); s.close(); })"
}
CI_PG_PORT=${CI_PG_PORT:-$(ci_free_port)}
CI_REDIS_PORT=${CI_REDIS_PORT:-$(ci_free_port)}
CI_PG_USER=${CI_PG_USER:-portcullis-ci}   # initdb refuses to run as root
CI_PG_DIR=
CI_REDIS_DIR=

ci_pg_bin() { # the newest PostgreSQL server binaries on the machine (15 on Debian 12, newer on 13)
  local bin
  bin=$(compgen -G '/usr/lib/postgresql/*/bin' | sort -V | tail -n 1)
  if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
    echo "no PostgreSQL server binaries under /usr/lib/postgresql" >&2
    return 1
  fi
  echo "$bin"
}

start_postgres() {
  local bin
  bin=$(ci_pg_bin)
  id -u "$CI_PG_USER" > /dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$CI_PG_USER"
  CI_PG_DIR=$(mktemp -d /tmp/portcullis-pg.XXXXXX)
  chown "$CI_PG_USER" "$CI_PG_DIR"
  runuser -u "$CI_PG_USER" -- "$bin/initdb" -D "$CI_PG_DIR/data" -U postgres --auth=trust --encoding=UTF8 --no-locale > "$CI_PG_DIR/initdb.log" 2>&1 \
    || { cat "$CI_PG_DIR/initdb.log"; return 1; }
  runuser -u "$CI_PG_USER" -- "$bin/pg_ctl" -D "$CI_PG_DIR/data" -w -t 60 -l "$CI_PG_DIR/server.log" \
    -o "-p $CI_PG_PORT -k $CI_PG_DIR -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off" start > /dev/null \
    || { cat "$CI_PG_DIR/server.log"; return 1; }
  export CI_POSTGRES_URL="postgres://postgres@127.0.0.1:${CI_PG_PORT}/postgres"
  echo "PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:${CI_PG_PORT} (${CI_PG_DIR})"
}

stop_postgres() {
  [ -n "$CI_PG_DIR" ] || return 0
  local bin
  if bin=$(ci_pg_bin); then
    runuser -u "$CI_PG_USER" -- "$bin/pg_ctl" -D "$CI_PG_DIR/data" -m fast -w stop > /dev/null 2>&1 || true
  fi
  rm -rf "$CI_PG_DIR"
  CI_PG_DIR=
}

start_redis() {
  CI_REDIS_DIR=$(mktemp -d /tmp/portcullis-redis.XXXXXX)
  redis-server --daemonize yes --bind 127.0.0.1 --port "$CI_REDIS_PORT" --save '' --appendonly no \
    --dir "$CI_REDIS_DIR" --pidfile "$CI_REDIS_DIR/redis.pid" --logfile "$CI_REDIS_DIR/redis.log"
  local tries=0
  until redis-cli -h 127.0.0.1 -p "$CI_REDIS_PORT" ping > /dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 50 ] || { cat "$CI_REDIS_DIR/redis.log"; return 1; }
    sleep 0.1
  done
  export CI_REDIS_URL="redis://127.0.0.1:${CI_REDIS_PORT}"
  echo "Redis $(redis-server --version | awk '{print $3}' | cut -d= -f2) on 127.0.0.1:${CI_REDIS_PORT}"
}

stop_redis() {
  [ -n "$CI_REDIS_DIR" ] || return 0
  redis-cli -h 127.0.0.1 -p "$CI_REDIS_PORT" shutdown nosave > /dev/null 2>&1 \
    || { [ -f "$CI_REDIS_DIR/redis.pid" ] && kill "$(cat "$CI_REDIS_DIR/redis.pid")" 2> /dev/null; } || true
  rm -rf "$CI_REDIS_DIR"
  CI_REDIS_DIR=
}

# start_services SERVICE...: starts each named service (postgres, redis), in this shell.
start_services() {
  local service
  for service in "$@"; do
    "start_${service}"
  done
}

stop_services() {
  stop_redis
  stop_postgres
}
