# Shared set-up for bin/run and bin/test; source it, don't run it.
# Creates .venv with Python 3.12 or newer and installs the pinned packages.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

find_python() {
  local candidate
  for candidate in "${PYTHON:-}" python3.12 \
      "$(pyenv root 2>/dev/null)"/versions/3.12*/bin/python python3.13 \
      "$(pyenv root 2>/dev/null)"/versions/3.13*/bin/python python3; do
    [ -n "$candidate" ] || continue
    command -v "$candidate" >/dev/null 2>&1 || [ -x "$candidate" ] || continue
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      echo "$candidate"
      return 0
    fi
  done
  return 1
}

ensure_venv() {
  if [ ! -x .venv/bin/python ]; then
    local python
    if ! python="$(find_python)"; then
      echo "error: Python 3.12 or newer is required (Django 6.1 does not run on 3.11);" >&2
      echo "install it, or set PYTHON=/path/to/python3.12" >&2
      exit 1
    fi
    echo "Creating .venv with $("$python" --version)"
    "$python" -m venv .venv
  fi
  # Reinstall only when the pinned requirements change.
  local stamp=.venv/.requirements.sha256
  local wanted
  wanted="$(cat requirements.txt requirements-dev.txt constraints.txt | sha256sum)"
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$wanted" ]; then
    echo "Installing pinned Python packages into .venv"
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
    echo "$wanted" > "$stamp"
  fi
}

# Debian packages the tests need: Chromium for the browser tests,
# redis-server for the RQ worker test and PostgreSQL for the second pass.
ensure_debian_packages() {
  local missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ] && ! command -v sudo >/dev/null 2>&1; then
    echo "error: install these Debian packages first: ${missing[*]}" >&2
    exit 1
  fi
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo=sudo
  echo "Installing Debian packages: ${missing[*]}"
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}
