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
# Two workers (CARELOOP_TEST_WORKERS): the tests that need Rasa in one (see conftest.py).
exec .venv/bin/python -m pytest -n "${CARELOOP_TEST_WORKERS:-2}" --dist loadgroup \
  --durations=20 "$@"
