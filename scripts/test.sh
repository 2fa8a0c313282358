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
# The whole suite as three pytest runs side by side, so that neither core idles while a
# Rasa server starts: the language-understanding checks (they train models of their own),
# the rest of what needs the Rasa engine (one model, Rasa servers; conftest.py marks every
# test that uses them `rasa`), and everything else. The background runs' reports follow.
nlu=tests/integration/test_nlu_quality.py
logs=("$(mktemp)" "$(mktemp)")
trap 'rm -f "${logs[@]}"' EXIT
pytest_args=(--durations=10 -p no:cacheprovider)
.venv/bin/python -m pytest -m rasa "$nlu" "${pytest_args[@]}" >"${logs[0]}" 2>&1 &
runs=($!)
# The browser tests join the Rasa run, which waits on servers more than it computes.
.venv/bin/python -m pytest -m "rasa or browser" --ignore="$nlu" "${pytest_args[@]}" \
  >"${logs[1]}" 2>&1 &
runs+=($!)
# Background jobs of a script ignore Ctrl-C: stop them with the rest.
trap 'kill "${runs[@]}" 2>/dev/null; exit 130' INT TERM
status=0
.venv/bin/python -m pytest -m "not rasa and not browser" "${pytest_args[@]}" || status=$?
for i in 0 1; do
  wait "${runs[$i]}" || status=$?
done
say "the language-understanding checks:"
cat "${logs[0]}"
say "the tests that need the Rasa engine or a browser:"
cat "${logs[1]}"
exit "$status"
