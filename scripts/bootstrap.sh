#!/usr/bin/env bash
# Creates (or refreshes) CareLoop's two Python environments:
#   .venv       the application (Python >= 3.11): requirements/app.lock + this package
#   .venv-rasa  the Rasa engine (Python 3.10):    requirements/rasa.lock
# Each is rebuilt only when its lock file changed, so a re-run takes a second.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
APP_VENV="${CARELOOP_APP_VENV:-$ROOT/.venv}"
RASA_VENV="${CARELOOP_RASA_ENGINE_DIR:-$ROOT/.venv-rasa}"
UV_VERSION="0.13.9"

say() { printf 'careloop setup: %s\n' "$*" >&2; }
die() { say "$*"; exit 1; }

# Candidate interpreters: PATH first, then pyenv, then uv-managed Pythons.
candidates() {
  local minor="$1"
  command -v "python3.$minor" 2>/dev/null || true
  if command -v pyenv >/dev/null 2>&1; then
    ls -d "$(pyenv root)"/versions/3."$minor".*/bin/python 2>/dev/null | sort -rV || true
  fi
  ls -d "$HOME"/.pyenv/versions/3."$minor".*/bin/python 2>/dev/null | sort -rV || true
  if command -v uv >/dev/null 2>&1; then uv python find "3.$minor" 2>/dev/null || true; fi
}

find_python() {  # find_python MINOR...: first interpreter that really is 3.MINOR
  local minor py
  for minor in "$@"; do
    while read -r py; do
      [ -n "$py" ] && [ -x "$py" ] || continue
      if "$py" -c "import sys, venv; sys.exit(sys.version_info[:2] != (3, $minor))" 2>/dev/null; then
        echo "$py"; return 0
      fi
    done < <(candidates "$minor")
  done
  return 1
}

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }

# --- application environment ------------------------------------------------------
app_stamp="$(stamp_of "$ROOT/requirements/app.lock" "$ROOT/pyproject.toml")"
if [ "$(cat "$APP_VENV/.careloop-stamp" 2>/dev/null)" != "$app_stamp" ]; then
  APP_PY="$(find_python 11 12 13)" || die "CareLoop needs Python 3.11 or newer for the application: install it (apt-get install python3.11, or pyenv install 3.11) and run again."
  say "creating the application environment with $APP_PY"
  [ -x "$APP_VENV/bin/python" ] || "$APP_PY" -m venv "$APP_VENV"
  # (pip's notes about this machine's local package folders are not ours to show)
  "$APP_VENV/bin/python" -m pip install --quiet --disable-pip-version-check "uv==$UV_VERSION" \
    2> >(grep -v "^WARNING: Location" >&2)
  "$APP_VENV/bin/uv" pip sync --quiet --python "$APP_VENV/bin/python" "$ROOT/requirements/app.lock"
  "$APP_VENV/bin/uv" pip install --quiet --python "$APP_VENV/bin/python" --no-deps -e "$ROOT"
  echo "$app_stamp" > "$APP_VENV/.careloop-stamp"
fi

# --- Rasa engine environment -------------------------------------------------------
rasa_stamp="$(stamp_of "$ROOT/requirements/rasa.lock")"
if [ "$(cat "$RASA_VENV/.careloop-stamp" 2>/dev/null)" != "$rasa_stamp" ]; then
  RASA_PY="$(find_python 10)" || die "Rasa 3.6 needs Python 3.10, and none was found on PATH, in pyenv or uv: install it (pyenv install 3.10, apt-get install python3.10, or uv python install 3.10) and run again."
  say "creating the Rasa engine environment with $RASA_PY (about 2.5 GB, once)"
  [ -x "$RASA_VENV/bin/python" ] || "$APP_VENV/bin/uv" venv --quiet --python "$RASA_PY" "$RASA_VENV"
  "$APP_VENV/bin/uv" pip sync --quiet --python "$RASA_VENV/bin/python" "$ROOT/requirements/rasa.lock"
  echo "$rasa_stamp" > "$RASA_VENV/.careloop-stamp"
fi
