#!/usr/bin/env bash
# Smarketing's two commands:
#   ./dev.sh demo   set up everything (venv, install, database, demo data) and serve on http://127.0.0.1:8000
#   ./dev.sh test   run the whole test suite (SQLite, then PostgreSQL when reachable; both required in CI)
set -euo pipefail
cd "$(dirname "$0")"
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}

ensure_venv() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$PY" -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11 or newer is needed"'
    "$PY" -m venv "$VENV"
  fi
  local stamp="$VENV/.installed-$1"
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
    if [ "$1" = test ]; then
      "$VENV/bin/python" -m pip install --quiet -e '.[test]'
    else
      "$VENV/bin/python" -m pip install --quiet -e .
    fi
    touch "$stamp"
  fi
}

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium for the browser tests..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  fi
  if [ ! -x /usr/bin/chromium ]; then
    if [ "${CI:-}" = true ]; then echo "Chromium is missing at /usr/bin/chromium" >&2; exit 1; fi
    echo "warning: /usr/bin/chromium not found; browser tests will be skipped" >&2
  fi
}

ensure_dovecot() {
  # A real IMAP server for the sales email capture tests (smarketing/process/testing.py).
  if [ -x /usr/sbin/dovecot ]; then return 0; fi
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's dovecot-imapd for the IMAP capture tests..."
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dovecot-imapd >/dev/null 2>&1 || true
  fi
  if [ ! -x /usr/sbin/dovecot ]; then
    if [ "${CI:-}" = true ]; then echo "Dovecot is missing at /usr/sbin/dovecot" >&2; exit 1; fi
    echo "warning: /usr/sbin/dovecot not found; the IMAP capture tests will be skipped" >&2
  fi
}

pg_reachable() {
  "$VENV/bin/python" - "$1" <<'PYEOF'
import sys, psycopg
try:
    psycopg.connect(sys.argv[1], connect_timeout=3).close()
except Exception as exc:
    print(f"PostgreSQL not reachable: {exc}", file=sys.stderr)
    sys.exit(1)
PYEOF
}

case "${1:-}" in
  demo)
    shift
    ensure_venv app
    exec "$VENV/bin/smarketing" demo "$@"
    ;;
  test)
    shift
    ensure_venv test
    ensure_chromium
    ensure_dovecot
    export SMARKETING_DATA_DIR=${SMARKETING_DATA_DIR:-$PWD/var/test}
    echo "== Lint and checks =="
    "$VENV/bin/ruff" check .
    env -u DATABASE_URL "$VENV/bin/smarketing" check --fail-level WARNING
    env -u DATABASE_URL "$VENV/bin/smarketing" makemigrations --check --dry-run >/dev/null \
      || { echo "Models changed without a migration: run smarketing makemigrations" >&2; exit 1; }
    PG_URL=${TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
    if ! pg_reachable "$PG_URL"; then
      if [ "${CI:-}" = true ]; then
        echo "PostgreSQL is required in CI (TEST_DATABASE_URL=$PG_URL)" >&2
        exit 1
      fi
      echo "Skipping the PostgreSQL run: $PG_URL is not reachable."
      echo "== Tests on SQLite =="
      exec env -u DATABASE_URL "$VENV/bin/python" -m pytest "$@"
    fi
    # The two database passes run side by side (each is one process, the machine has two cores or more), each
    # with its own data directory; their output is printed when both are done.
    logs=$(mktemp -d)
    SMARKETING_DATA_DIR="$SMARKETING_DATA_DIR/sqlite" env -u DATABASE_URL \
      "$VENV/bin/python" -m pytest "$@" >"$logs/sqlite" 2>&1 &
    sqlite_pid=$!
    SMARKETING_DATA_DIR="$SMARKETING_DATA_DIR/postgresql" DATABASE_URL="$PG_URL" \
      "$VENV/bin/python" -m pytest "$@" >"$logs/postgresql" 2>&1 &
    pg_pid=$!
    echo "== Tests on SQLite and on PostgreSQL, side by side (logs in $logs) =="
    sqlite_rc=0; wait "$sqlite_pid" || sqlite_rc=$?
    pg_rc=0; wait "$pg_pid" || pg_rc=$?
    echo "== Tests on SQLite (exit $sqlite_rc) =="
    cat "$logs/sqlite"
    echo "== Tests on PostgreSQL (exit $pg_rc) =="
    cat "$logs/postgresql"
    [ "$sqlite_rc" -eq 0 ] && [ "$pg_rc" -eq 0 ]
    ;;
  *)
    echo "usage: ./dev.sh demo | ./dev.sh test [pytest args]" >&2
    exit 2
    ;;
esac
