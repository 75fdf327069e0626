# Sourced by scripts/ceasewatch and scripts/test: create or reuse ./.venv and install
# ceasewatch into it (editable), re-installing only when pyproject.toml, setup.py or the C
# sources of the extensions (src/ceasewatch/**/*.c, *.h) have changed.
# Needs nothing but the machine's python3 (>= 3.11) and access to PyPI on first run.
# Usage: . scripts/_venv.sh [extra]      e.g. ". scripts/_venv.sh dev"
set -euo pipefail
_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
_extra="${1:-}"
_py="${PYTHON:-python3}"
if ! "$_py" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
  echo "ceasewatch needs Python >= 3.11 as '$_py' (set PYTHON=/path/to/python3.11)." >&2
  exit 2
fi
VENV="${CEASEWATCH_VENV:-$_root/.venv}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "Creating virtual environment in $VENV ..." >&2
  "$_py" -m venv "$VENV"
fi
_stamp="$VENV/.ceasewatch-installed"
_want="$(cat "$_root/pyproject.toml" "$_root/setup.py" $(find "$_root/src/ceasewatch" -name '*.[ch]' | sort) \
  | sha256sum | cut -c1-16)-${_extra}"
if [ ! -f "$_stamp" ] || [ "$(cat "$_stamp")" != "$_want" ]; then
  echo "Installing ceasewatch${_extra:+ [$_extra]} into $VENV ..." >&2
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >&2
  _spec="$_root"; [ -n "$_extra" ] && _spec="$_root[$_extra]"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -e "$_spec" >&2
  echo "$_want" > "$_stamp"
fi
export PATH="$VENV/bin:$PATH"
