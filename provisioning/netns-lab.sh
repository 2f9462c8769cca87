#!/usr/bin/env bash
# bwlab real-network mode (optional, root): each camera in its own network namespace, joined to
# the appliance by a veth pair whose link is shaped with tc netem (DESIGN "Lab network").
#
#   sudo provisioning/netns-lab.sh up N [--delay 40ms] [--jitter 10ms] [--loss 0.5%] [--rate 4mbit]
#   sudo provisioning/netns-lab.sh shape I [--delay …] [--jitter …] [--loss …] [--rate …]
#   sudo provisioning/netns-lab.sh exec I -- COMMAND [ARG…]
#   sudo provisioning/netns-lab.sh status
#   sudo provisioning/netns-lab.sh down
#
# Camera I (1…N, at most 200) gets namespace "bwlab-cam<I>" and a veth pair: "bwlab-h<I>" in the
# host namespace with 10.77.<I>.1/30, "eth0" in the camera's namespace with 10.77.<I>.2/30 and a
# default route through 10.77.<I>.1. The appliance listens on every address, so a camera reaches it
# at https://10.77.<I>.1:443. netem shapes both directions of each pair (egress of eth0: the
# camera's uplink; egress of bwlab-h<I>: its downlink).
#
# The script only ever touches what it creates: namespaces named bwlab-cam*, interfaces named
# bwlab-h*, addresses on those interfaces and the qdiscs on them. No existing interface, address,
# route, firewall rule or sysctl of the machine changes, and "down" removes all of it.
#
# Run one camera per namespace, e.g. with the fleet of the appliance's data directory:
#   sudo provisioning/netns-lab.sh exec 1 -- runuser -u bwlab -- /opt/bwlab/venv/bin/bwlab fleet \
#       --data-dir /var/lib/bwlab --url https://10.77.1.1:443 --only B8A44F000101
set -euo pipefail

NS_PREFIX=bwlab-cam
HOST_PREFIX=bwlab-h
MAX=200

die() { echo "netns-lab.sh: $*" >&2; exit 2; }
usage() { sed -n '2,/^set -euo/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; }
need_root() { [ "$(id -u)" = 0 ] || die "run as root (network namespaces need CAP_NET_ADMIN)"; }
check_index() { [[ "$1" =~ ^[0-9]+$ ]] && [ "$1" -ge 1 ] && [ "$1" -le "$MAX" ] || die "camera index must be 1…$MAX, not '$1'"; }

DELAY=0ms JITTER=0ms LOSS=0% RATE=
parse_shape() {
  while [ $# -gt 0 ]; do
    case "$1" in
      --delay) DELAY=${2:?}; shift 2 ;;
      --jitter) JITTER=${2:?}; shift 2 ;;
      --loss) LOSS=${2:?}; shift 2 ;;
      --rate) RATE=${2:?}; shift 2 ;;
      *) die "unknown option $1" ;;
    esac
  done
}

netem() {  # netem IFACE [ip netns exec NS]: replace the interface's root qdisc with netem
  local dev=$1; shift
  local args=(delay "$DELAY")
  [ "$JITTER" != 0ms ] && args+=("$JITTER")
  args+=(loss "$LOSS")
  [ -n "$RATE" ] && args+=(rate "$RATE")
  "$@" tc qdisc replace dev "$dev" root netem "${args[@]}" \
    || die "tc netem failed on $dev (is the sch_netem kernel module available? modprobe sch_netem)"
}

camera_up() {
  local i=$1 ns=$NS_PREFIX$1 host=$HOST_PREFIX$1
  if ! ip netns list | grep -qw "$ns"; then
    ip netns add "$ns"
  fi
  if ! ip link show "$host" >/dev/null 2>&1; then
    ip link add "$host" type veth peer name eth0 netns "$ns"
  fi
  ip addr replace "10.77.$i.1/30" dev "$host"
  ip link set "$host" up
  ip -n "$ns" addr replace "10.77.$i.2/30" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip -n "$ns" route replace default via "10.77.$i.1"
  netem "$host"
  netem eth0 ip netns exec "$ns"
}

camera_down() {
  local ns=$NS_PREFIX$1 host=$HOST_PREFIX$1
  ip link del "$host" 2>/dev/null || true  # also removes the peer inside the namespace
  ip netns del "$ns" 2>/dev/null || true
}

ours() {  # the indices of the namespaces this script made
  ip netns list | awk '{print $1}' | sed -n "s/^$NS_PREFIX\([0-9]\{1,3\}\)\$/\1/p" | sort -n
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  up)
    need_root
    n=${1:-}; check_index "$n"; shift
    parse_shape "$@"
    for i in $(seq 1 "$n"); do camera_up "$i"; done
    echo "netns-lab: $n camera namespaces up (delay $DELAY, jitter $JITTER, loss $LOSS${RATE:+, rate $RATE})"
    ;;
  shape)
    need_root
    i=${1:-}; check_index "$i"; shift
    parse_shape "$@"
    ip netns list | grep -qw "$NS_PREFIX$i" || die "no namespace $NS_PREFIX$i; run 'up' first"
    netem "$HOST_PREFIX$i"
    netem eth0 ip netns exec "$NS_PREFIX$i"
    ;;
  exec)
    need_root
    i=${1:-}; check_index "$i"; shift
    [ "${1:-}" = -- ] && shift
    [ $# -gt 0 ] || die "exec I -- COMMAND: no command given"
    exec ip netns exec "$NS_PREFIX$i" "$@"
    ;;
  status)
    for i in $(ours); do
      printf '%s%s  ' "$NS_PREFIX" "$i"
      ip -n "$NS_PREFIX$i" -brief addr show dev eth0 2>/dev/null | awk '{printf "%s ", $3}'
      tc qdisc show dev "$HOST_PREFIX$i" 2>/dev/null | head -1
    done
    ;;
  down)
    need_root
    for i in $(ours); do camera_down "$i"; done
    echo "netns-lab: every bwlab camera namespace removed"
    ;;
  -h|--help|help|"") usage ;;
  *) die "unknown command '$cmd' (up, shape, exec, status, down)" ;;
esac
