#!/usr/bin/env bash
# The test command behind `./careloop test` (and CI): system packages the tests need,
# lint and types, then the whole pytest suite. Extra arguments go to pytest.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

say() { printf 'careloop test: %s\n' "$*" >&2; }

have_postgres() {
  [ -n "${CARELOOP_TEST_POSTGRES_URL:-}" ] || command -v initdb >/dev/null 2>&1 \
    || compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null
}

# System packages from Debian, installed only when missing.
missing=()
have_postgres || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)  # the console's browser tests
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)  # Rasa's lock store
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing ${missing[*]} from Debian's packages"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    say "the tests need: ${missing[*]} (e.g. sudo apt-get install ${missing[*]}); for PostgreSQL you may instead set CARELOOP_TEST_POSTGRES_URL"
    exit 1
  fi
fi

.venv/bin/ruff check assistant actions scheduler tests bench rasa_components
.venv/bin/mypy assistant actions scheduler
.venv/bin/lint-imports  # the layers and contracts of pyproject.toml [tool.importlinter]
if [ $# -gt 0 ]; then  # a part of the suite, as asked
  exec .venv/bin/python -m pytest "$@"
fi
# The whole suite as two pytest runs side by side: what needs the Rasa engine (one model,
# one Rasa server; conftest.py marks every test that uses them `rasa`), and the rest. The
# Rasa part's report follows the rest's.
rasa_log="$(mktemp)"
trap 'rm -f "$rasa_log"' EXIT
.venv/bin/python -m pytest -m rasa --durations=10 -p no:cacheprovider >"$rasa_log" 2>&1 &
rasa_run=$!
# Background jobs of a script ignore Ctrl-C: stop this one with the rest.
trap 'kill "$rasa_run" 2>/dev/null; exit 130' INT TERM
status=0
.venv/bin/python -m pytest -m "not rasa" --durations=10 -p no:cacheprovider || status=$?
wait "$rasa_run" || status=$?
say "the tests that need the Rasa engine:"
cat "$rasa_log"
exit "$status"
