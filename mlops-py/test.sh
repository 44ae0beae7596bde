#!/usr/bin/env bash
# Builds the Python module (debug, `maturin develop`) into a venv and runs the pytest suite.
#   PYVENV  venv to create/reuse (default: mlops-py/.venv)
#   SHARED  directory holding testdata/ (default: the `shared/` beside the repository)
# Exits non-zero on any failure.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PYVENV="${PYVENV:-$here/.venv}"
export SHARED="${SHARED:-$here/../../shared}"
PYTHON="${PYTHON:-python3}"
if [ ! -x "$PYVENV/bin/python" ]; then
    "$PYTHON" -m venv "$PYVENV"
fi
"$PYVENV/bin/pip" install -q --disable-pip-version-check 'maturin>=1.9.4,<2' 'pyarrow==26.0.1' 'pytest>=8,<10' numpy pandas
cd "$here"
VIRTUAL_ENV="$PYVENV" PATH="$PYVENV/bin:$PATH" "$PYVENV/bin/maturin" develop
"$PYVENV/bin/python" -m pytest "$here/tests" -q
