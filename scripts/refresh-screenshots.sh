#!/usr/bin/env bash
# Refresh the README's screenshots: run the end-to-end tests (headless Chromium) with their
# screenshots written into docs/screenshots/ instead of a temporary folder. Extra arguments go to
# pytest (e.g. -k map; -k live_audit or live_health for live-audit.png, live-watching.png, live-health.png). Review and commit the
# changed pictures yourself.
# tests/e2e/test_live_talkback.py launches its own Chromium with a fake microphone (a 440 Hz WAV it writes):
# live-talk-back.png and lab-speaker.png (-k talkback for those alone).
set -euo pipefail
cd "$(dirname "$0")/.."
export BWLAB_SCREENSHOTS="$PWD/docs/screenshots"
bash scripts/venv.sh test
exec "${BWLAB_VENV:-.venv}/bin/python" -m pytest -q -p no:cacheprovider tests/e2e "$@"
