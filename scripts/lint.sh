#!/usr/bin/env bash
# The lint gate (called by .ci/run before the tests): ruff's rules, ruff's formatting and mypy, each
# with its configuration in pyproject.toml, at zero findings. Runs with bwlab's virtualenv (.venv,
# see scripts/venv.sh) when it exists, else with python3.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${BWLAB_VENV:-.venv}/bin/python"
[ -x "$PY" ] || PY=python3
"$PY" -m ruff check .
"$PY" -m ruff format --check .
"$PY" -m mypy
