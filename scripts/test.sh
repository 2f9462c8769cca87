#!/usr/bin/env bash
# The README's test command (called by .ci/run): install bwlab with its test extras into its
# virtualenv (.venv, see scripts/venv.sh), then run the whole suite there. Arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh test
exec "${BWLAB_VENV:-.venv}/bin/python" -m pytest -q -p no:cacheprovider "$@"
