#!/usr/bin/env bash
# bwlab's own virtualenv, .venv in the checkout, for the README's commands (scripts/up.sh,
# scripts/test.sh). Debian 12's Python refuses `pip install` outside a virtualenv (PEP 668,
# externally-managed-environment), so bwlab is installed into one, made by `python3 -m venv`.
#
#   bash scripts/venv.sh [EXTRA]     EXTRA: an optional-dependencies group of pyproject.toml (test)
#
# Creates .venv when missing (on Debian, python3-venv is installed first if it is missing: as root
# directly, else through sudo) and installs bwlab editable with EXTRA when pyproject.toml or EXTRA
# changed since the last install. PYTHON chooses the interpreter (default python3), BWLAB_VENV the
# folder (default .venv).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=${BWLAB_VENV:-.venv}
EXTRA=${1:-}

if [ ! -x "$VENV/bin/python" ]; then
  if ! "$PYTHON" -c 'import ensurepip, venv' 2>/dev/null; then
    # Debian ships venv's pip bootstrap apart, in python3-venv
    if ! command -v apt-get >/dev/null; then
      echo "bwlab: $PYTHON cannot make a virtualenv (no venv/ensurepip module); install your distribution's venv package" >&2
      exit 1
    fi
    SUDO=
    [ "$(id -u)" = 0 ] || SUDO=sudo
    echo "bwlab: installing python3-venv (Debian's venv module for $PYTHON)" >&2
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null \
      || { $SUDO apt-get update -q >/dev/null && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv >/dev/null; }
  fi
  echo "bwlab: making the virtualenv $VENV with $("$PYTHON" -c 'import sys; print(sys.executable)')" >&2
  rm -rf "$VENV"
  "$PYTHON" -m venv "$VENV"
fi

want="$(sha256sum pyproject.toml | cut -d' ' -f1) ${EXTRA}"
stamp="$VENV/.bwlab-installed"
if ! grep -qxF "$want" "$stamp" 2>/dev/null; then
  echo "bwlab: installing bwlab${EXTRA:+ with its $EXTRA tools} into $VENV" >&2
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e ".${EXTRA:+[$EXTRA]}"
  printf '%s\n' "$want" >> "$stamp"
fi
