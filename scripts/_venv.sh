# Sourced by scripts/run and scripts/test: make .venv and install the pinned requirements
# when they changed since the last install.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PYTHON="${PYTHON:-python3}"
REQUIREMENTS="${1:-requirements/dev.txt}"

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "Python 3.11 or newer is needed (found: $("$PYTHON" --version 2>&1))." >&2
  exit 1
fi
if [ ! -x .venv/bin/python ]; then
  echo "Creating the virtualenv in .venv ..."
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.installed-$(basename "$REQUIREMENTS")
if [ ! -f "$stamp" ] || ! cmp -s "$REQUIREMENTS" "$stamp"; then
  echo "Installing $REQUIREMENTS ..."
  .venv/bin/python -m pip install --quiet --upgrade pip
  .venv/bin/python -m pip install --quiet -r "$REQUIREMENTS"
  cp "$REQUIREMENTS" "$stamp"
fi
