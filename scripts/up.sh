#!/usr/bin/env bash
# The README's first command: install bwlab into its own virtualenv (.venv, see scripts/venv.sh),
# then run `bwlab up` there. Arguments go to `bwlab up` (e.g. --port 9443, see `bwlab up --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/venv.sh
exec "${BWLAB_VENV:-.venv}/bin/bwlab" up "$@"
