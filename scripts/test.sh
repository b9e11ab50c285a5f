#!/usr/bin/env bash
# Set up with the test extras, lint, type-check, and run the test suite (no network, no weights, no GPU).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh dev
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/python -m pytest
