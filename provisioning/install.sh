#!/usr/bin/env bash
# Make a Debian 12 machine into the bwlab lab appliance (DESIGN "Parts": provisioning/).
#
#   sudo provisioning/install.sh [options]
#
# What it does, each step only when something is not already right (run it again: nothing changes):
#   1. Debian packages: python3, python3-venv, chrony, avahi-daemon, ca-certificates, iproute2, rsync
#   2. the system user and group "bwlab" (systemd-sysusers, from /usr/lib/sysusers.d/bwlab.conf)
#   3. bwlab's source in /opt/bwlab/src and a virtualenv in /opt/bwlab/venv with bwlab installed
#      (pip runs only when the source changed since the last install)
#   4. systemd units: bwlab-appliance.service (HTTPS on port 443 through CAP_NET_BIND_SERVICE),
#      bwlab-fleet.service (the scenario's cameras), bwlab-trust-ca.path/.service (trust the lab CA
#      in the system store as soon as the appliance has made it); /etc/default/bwlab if missing
#   5. chrony: the appliance's NTP server as a source (/etc/chrony/conf.d/bwlab.conf)
#   6. avahi: the appliance advertised as _https._tcp on <hostname>.local
#   7. the lab CA in /usr/local/share/ca-certificates once it exists
#   8. systemctl: enable the units and (re)start what changed, unless --no-systemd-start
#
# Options:
#   --root DIR               install into DIR instead of / (image building, tests): no apt, no
#                            systemctl start, users and unit links are written inside DIR only
#   --source DIR             the bwlab source tree (default: the repository holding this script)
#   --python PATH            the interpreter for the virtualenv (default /usr/bin/python3)
#   --system-site-packages   let the virtualenv use the machine's installed Python packages and
#                            install offline (no index; setuptools and wheel must be installed):
#                            an air-gapped box with Debian's python3-* packages, and the tests
#   --no-systemd-start       enable the units but do not start or restart anything
#   --dry-run                say what would change and change nothing
#   -h, --help               this text
#
# The last line says how many things changed: "bwlab-install: done, N change(s)".
set -euo pipefail

ROOT=/
SOURCE=
PYTHON=/usr/bin/python3
SITE_PACKAGES=0
START=1
DRY=0
PACKAGES=(python3 python3-venv chrony avahi-daemon ca-certificates iproute2 rsync)
UNITS=(bwlab-appliance.service bwlab-fleet.service bwlab-trust-ca.path bwlab-trust-ca.service)
ENABLE=(bwlab-appliance.service bwlab-fleet.service bwlab-trust-ca.path)
PREFIX=/opt/bwlab
STATE=/var/lib/bwlab

usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }

while [ $# -gt 0 ]; do
  case "$1" in
    --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
    --root=*) ROOT=${1#*=}; shift ;;
    --source) SOURCE=${2:?--source needs a directory}; shift 2 ;;
    --source=*) SOURCE=${1#*=}; shift ;;
    --python) PYTHON=${2:?--python needs a path}; shift 2 ;;
    --python=*) PYTHON=${1#*=}; shift ;;
    --system-site-packages) SITE_PACKAGES=1; shift ;;
    --no-systemd-start) START=0; shift ;;
    --dry-run) DRY=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done

HERE=$(cd "$(dirname "$0")" && pwd)
SOURCE=${SOURCE:-$(dirname "$HERE")}
SOURCE=$(cd "$SOURCE" && pwd)
[ -f "$SOURCE/pyproject.toml" ] && [ -d "$SOURCE/appliance" ] || {
  echo "install.sh: $SOURCE is not a bwlab source tree (no pyproject.toml/appliance/)" >&2; exit 2; }
PROV="$SOURCE/provisioning"
if [ "$ROOT" = / ]; then R=; else R=$(realpath -m "$ROOT"); fi
LIVE=0  # acting on the running system (root /), as opposed to an image or test tree
[ -z "$R" ] && LIVE=1
if [ "$LIVE" = 1 ] && [ "$DRY" = 0 ] && [ "$(id -u)" != 0 ]; then
  echo "install.sh: run as root (or give --root DIR / --dry-run)" >&2; exit 2
fi

CHANGES=0
UNITS_CHANGED=0
APP_CHANGED=0
log() { printf 'bwlab-install: %s\n' "$*"; }
changed() { CHANGES=$((CHANGES + 1)); if [ "$DRY" = 1 ]; then log "would change: $*"; else log "changed: $*"; fi; }

# install_file SRC DEST MODE: copy when missing or different (content or mode); returns 0 if it changed
install_file() {
  local src=$1 dest=$R$2 mode=$3
  if [ -f "$dest" ] && cmp -s "$src" "$dest" && [ "$(stat -c %a "$dest")" = "${mode#0}" ]; then
    return 1
  fi
  changed "$2"
  [ "$DRY" = 1 ] || install -D -m "$mode" "$src" "$dest"
  return 0
}

# ensure_dir DIR MODE [OWNER]: create when missing, fix the mode (and owner on a live system)
ensure_dir() {
  local dir=$R$1 mode=$2 owner=${3:-}
  if [ ! -d "$dir" ]; then
    changed "$1/"
    [ "$DRY" = 1 ] || mkdir -p "$dir"
  fi
  if [ -d "$dir" ] && [ "$(stat -c %a "$dir")" != "${mode#0}" ]; then
    changed "$1/ mode $mode"
    [ "$DRY" = 1 ] || chmod "$mode" "$dir"
  fi
  if [ -n "$owner" ] && [ "$LIVE" = 1 ] && [ -d "$dir" ] && [ "$(stat -c %U:%G "$dir")" != "$owner" ]; then
    changed "$1/ owner $owner"
    [ "$DRY" = 1 ] || chown "$owner" "$dir"
  fi
}

# 1. Debian packages ------------------------------------------------------------------------------
if [ "$LIVE" = 1 ]; then
  missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    changed "packages ${missing[*]}"
    if [ "$DRY" = 0 ]; then
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -q
      apt-get install -y -q --no-install-recommends "${missing[@]}"
    fi
  fi
fi

# 2. the bwlab system user ------------------------------------------------------------------------
install_file "$PROV/sysusers-bwlab.conf" /usr/lib/sysusers.d/bwlab.conf 0644 || true
if command -v systemd-sysusers >/dev/null; then
  if ! { [ -f "$R/etc/passwd" ] && grep -q '^bwlab:' "$R/etc/passwd"; }; then
    changed "system user bwlab"
    if [ "$DRY" = 0 ]; then
      if [ "$LIVE" = 1 ]; then systemd-sysusers /usr/lib/sysusers.d/bwlab.conf
      else mkdir -p "$R/etc"; systemd-sysusers --root="$R"; fi  # reads DIR/usr/lib/sysusers.d
    fi
  fi
elif [ "$LIVE" = 1 ] && ! getent passwd bwlab >/dev/null; then
  changed "system user bwlab"
  [ "$DRY" = 1 ] || useradd --system --user-group --home-dir "$STATE" --shell /usr/sbin/nologin bwlab
fi

# 3. source and virtualenv ------------------------------------------------------------------------
ensure_dir "$PREFIX" 0755
ensure_dir "$STATE" 0700 bwlab:bwlab  # the lab's secrets (docs/security.md)
rsync_args=(-a --omit-dir-times --checksum --delete --itemize-changes
  --include=/pyproject.toml --include=/README.md --include=/LICENSE
  --include='/appliance/***' --include='/bwlab/***' --include='/firmware_stub/***' --include='/labnet/***' --include='/webui/***'
  --include='/provisioning/***'
  --exclude='__pycache__/' --exclude='*.pyc' --exclude='node_modules/' --exclude='/build/' --exclude='*.egg-info/'
  --exclude='*')
[ "$DRY" = 1 ] && rsync_args+=(--dry-run)
[ "$DRY" = 1 ] && [ ! -d "$R$PREFIX/src" ] && rsync_args+=(--mkpath)
[ "$DRY" = 0 ] && mkdir -p "$R$PREFIX/src"
copied=$(rsync "${rsync_args[@]}" "$SOURCE/" "$R$PREFIX/src/" | grep -v '^\.[^ ]* ' || true)
if [ -n "$copied" ]; then
  changed "$PREFIX/src ($(printf '%s\n' "$copied" | wc -l) files)"
fi

VENV=$R$PREFIX/venv
if [ ! -x "$VENV/bin/python" ]; then
  changed "$PREFIX/venv"
  if [ "$DRY" = 0 ]; then
    venv_args=()
    [ "$SITE_PACKAGES" = 1 ] && venv_args+=(--system-site-packages --without-pip)
    "$PYTHON" -m venv "${venv_args[@]}" "$VENV"
  fi
fi
digest() {  # what pip installed from: the source files (not pip's own build output)
  (cd "$1" && find . -type f ! -path './build/*' ! -path './*.egg-info/*' ! -path '*/__pycache__/*' -print0 \
    | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
}
if [ -d "$R$PREFIX/src" ]; then want=$(digest "$R$PREFIX/src"); else want=pending; fi
have=$(cat "$VENV/.bwlab-source.sha256" 2>/dev/null || true)
if [ "$want" != "$have" ] || [ ! -x "$VENV/bin/bwlab" ]; then
  changed "bwlab installed in $PREFIX/venv"
  APP_CHANGED=1
  if [ "$DRY" = 0 ]; then
    pip_args=(--quiet --disable-pip-version-check)
    # with the machine's packages: build and install offline, from what is installed already
    [ "$SITE_PACKAGES" = 1 ] && pip_args+=(--no-index --no-build-isolation)
    "$VENV/bin/python" -m pip install "${pip_args[@]}" "$R$PREFIX/src"
    printf '%s\n' "$(digest "$R$PREFIX/src")" > "$VENV/.bwlab-source.sha256"
  fi
fi

# 4. systemd units and their settings -------------------------------------------------------------
for unit in "${UNITS[@]}"; do
  if install_file "$PROV/systemd/$unit" "/etc/systemd/system/$unit" 0644; then UNITS_CHANGED=1; fi
done
if [ ! -e "$R/etc/default/bwlab" ]; then  # the admin's own settings: written once, never overwritten
  install_file "$PROV/default-bwlab" /etc/default/bwlab 0644 || true
fi

# 5. chrony and 6. avahi --------------------------------------------------------------------------
CHRONY_CHANGED=0
AVAHI_CHANGED=0
install_file "$PROV/chrony.conf" /etc/chrony/conf.d/bwlab.conf 0644 && CHRONY_CHANGED=1
install_file "$PROV/avahi-bwlab.service" /etc/avahi/services/bwlab.service 0644 && AVAHI_CHANGED=1

# 7. trust the lab CA (also done by bwlab-trust-ca.path when the appliance makes it later) ---------
trust_ca() {
  if [ -f "$R$STATE/tls/lab-ca.pem" ] \
      && install_file "$R$STATE/tls/lab-ca.pem" /usr/local/share/ca-certificates/bwlab-lab-ca.crt 0644 \
      && [ "$LIVE" = 1 ] && [ "$DRY" = 0 ]; then
    update-ca-certificates >/dev/null
  fi
}
trust_ca

# 8. systemctl ------------------------------------------------------------------------------------
if command -v systemctl >/dev/null; then
  if [ "$LIVE" = 1 ]; then
    if [ "$DRY" = 0 ] && [ -d /run/systemd/system ]; then
      [ "$UNITS_CHANGED" = 1 ] && systemctl daemon-reload
      for u in "${ENABLE[@]}"; do
        systemctl is-enabled --quiet "$u" 2>/dev/null || { changed "enable $u"; systemctl enable --quiet "$u"; }
      done
      if [ "$START" = 1 ]; then
        [ "$CHRONY_CHANGED" = 1 ] && systemctl restart chrony
        [ "$AVAHI_CHANGED" = 1 ] && systemctl reload-or-restart avahi-daemon
        systemctl start bwlab-trust-ca.path
        if [ "$APP_CHANGED" = 1 ] || [ "$UNITS_CHANGED" = 1 ]; then
          systemctl restart bwlab-appliance.service bwlab-fleet.service
        else
          systemctl start bwlab-appliance.service bwlab-fleet.service
        fi
        for _ in $(seq 60); do  # the appliance makes its lab CA on first start
          [ -f "$STATE/tls/lab-ca.pem" ] && break
          sleep 1
        done
        trust_ca
      fi
    fi
  else
    for u in "${ENABLE[@]}"; do
      if [ "$DRY" = 1 ]; then
        [ -L "$R/etc/systemd/system/multi-user.target.wants/$u" ] || changed "enable $u"
      elif [ ! -L "$R/etc/systemd/system/multi-user.target.wants/$u" ]; then
        changed "enable $u"
        systemctl --root="$R" enable --quiet "$u"
      fi
    done
  fi
fi

log "done, $CHANGES change(s)"
