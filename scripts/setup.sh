#!/usr/bin/env bash
# Create .venv and install vidcolor (editable) with the given extras. Idempotent: a stamp keyed by
# pyproject.toml and the extras skips the install when nothing changed.
#   bash scripts/setup.sh [extras]      e.g. dev, demo
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
python=""
for candidate in python3.11 python3; do
  if command -v "$candidate" >/dev/null 2>&1 &&
     "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))'; then
    python="$candidate"; break
  fi
done
if [ -z "$python" ]; then
  echo "vidcolor needs Python 3.11 (pyproject.toml's requires-python: the tested set of wheels); none found" >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$python" -m venv .venv
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${extras:-base}"
if [ ! -f "$stamp" ]; then
  spec="."
  [ -n "$extras" ] && spec=".[$extras]"
  .venv/bin/python -m pip install --quiet --disable-pip-version-check -e "$spec"
  touch "$stamp"
fi
# The package's own bytecode, written now: where PYTHONDONTWRITEBYTECODE is set (CI, many Docker images) Python
# would otherwise compile its ~90 modules from source at every start, 0.15 s of each run's and each worker's.
.venv/bin/python -m compileall -q -j 0 vidcolor >/dev/null
