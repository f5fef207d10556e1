# Throwaway PostgreSQL cluster for bin/test; source it, don't run it.
# start_test_postgres sets DATABASE_URL; stop_test_postgres removes the cluster.

start_test_postgres() {
  PG_BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  if [ ! -x "$PG_BIN/initdb" ]; then
    echo "error: PostgreSQL's server binaries are missing; apt-get install postgresql" >&2
    exit 1
  fi
  PG_DIR="$(mktemp -d /tmp/zincdash-pg.XXXXXX)"
  PG_RUN=()
  # PostgreSQL refuses to run as root, so root runs it as the postgres user.
  if [ "$(id -u)" -eq 0 ]; then
    local owner=postgres
    id postgres >/dev/null 2>&1 || owner=nobody
    chown "$owner" "$PG_DIR"
    PG_RUN=(runuser -u "$owner" --)
  fi
  PG_PORT="$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  "${PG_RUN[@]}" "$PG_BIN/initdb" -D "$PG_DIR/data" -U zincdash --auth=trust \
    -E UTF8 >/dev/null
  "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/server.log" -w \
    -o "-h 127.0.0.1 -p $PG_PORT -k $PG_DIR -F" start >/dev/null
  "${PG_RUN[@]}" "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U zincdash zincdash
  export DATABASE_URL="postgres://zincdash@127.0.0.1:$PG_PORT/zincdash"
}

stop_test_postgres() {
  [ -n "${PG_DIR:-}" ] || return 0
  "${PG_RUN[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast stop >/dev/null 2>&1 || true
  rm -rf "$PG_DIR"
  PG_DIR=""
}
