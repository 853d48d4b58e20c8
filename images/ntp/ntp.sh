#!/bin/sh
# ntp [-once] [-timeout SECONDS] [SERVER[:PORT]...]
#
# Runs chronyd against, in this order: the servers named here (the build file's `command`), the
# ones a DHCP client wrote to /run/dhcpcd/ntp-servers (one per line), and the cloud's own
# source (AWS: 169.254.169.123; GCP: metadata.google.internal), found by the DMI vendor.
# The first sync steps the clock however far off it is; later ones slew it.
# -once: set the clock once and exit (an onboot step); exit 1 if no server answers in time.
set -u
ME=ntp
ONCE=
TIMEOUT=30
SERVERS=
DHCP_FILE=/run/dhcpcd/ntp-servers
CONF=/run/ntp/chrony.conf

say() { echo "$ME: $*"; }
usage() { say "$*"; echo "usage: ntp [-once] [-timeout SECONDS] [SERVER[:PORT]...]" >&2; exit 2; }

while [ $# -gt 0 ]; do
  case "$1" in
    -once|--once) ONCE=yes; shift ;;
    -timeout|--timeout)
      [ $# -ge 2 ] || usage "$1 needs a value"
      case "$2" in ''|*[!0-9]*) usage "-timeout '$2' is not a whole number of seconds" ;; esac
      TIMEOUT=$2; shift 2 ;;
    -*) usage "unknown option $1" ;;
    *) SERVERS="$SERVERS $1"; shift ;;
  esac
done

cloud_source() {
  vendor=$(cat /sys/class/dmi/id/sys_vendor /sys/class/dmi/id/bios_version 2>/dev/null)
  case "$vendor" in
    *Amazon*|*amazon*) echo 169.254.169.123 ;;
    *Google*) echo metadata.google.internal ;;
  esac
}

# "host", "host:port" or "[v6]:port" -> a chrony server line.
server_line() {
  case "$1" in
    \[*\]:*) host=${1%]:*}; host=${host#[}; port=${1##*]:} ;;
    \[*\]) host=${1#[}; host=${host%]}; port= ;;
    *:*:*) host=$1; port= ;;
    *:*) host=${1%:*}; port=${1##*:} ;;
    *) host=$1; port= ;;
  esac
  case "$host" in ''|*[!A-Za-z0-9.:_-]*) say "server '$1': not a host name or address; skipped" >&2; return ;; esac
  case "$port" in *[!0-9]*) say "server '$1': port '$port' is not a number; skipped" >&2; return ;; esac
  echo "server $host${port:+ port $port} iburst"
}

sources() {
  for s in $SERVERS; do echo "$s"; done
  [ -r "$DHCP_FILE" ] && grep -v '^[[:space:]]*\(#\|$\)' "$DHCP_FILE"
  cloud_source
}

mkdir -p /run/ntp /run/chrony
# chrony keeps one source per address: a host named again (another port) is skipped, with a line.
lines=$(for s in $(sources | awk '!seen[$0]++'); do server_line "$s"; done |
  awk '{ if (seen[$2]++) print "ntp: server " $2 " is named twice; the first one counts" > "/dev/stderr"; else print }')
if [ -z "$lines" ]; then
  say "no NTP server: name one in the build file (command: [/usr/bin/ntp, HOST]), let DHCP offer one, or run on AWS or GCP; the clock is not synchronised"
  exit 1
fi
{
  echo "$lines"
  echo "makestep 1 3"       # the first updates step the clock however far off; later ones slew
  echo "port 0"             # a client only: no NTP server socket
  echo "rtcsync"            # the kernel copies the synced time to the RTC every 11 minutes
  echo "driftfile /run/ntp/drift"
  echo "pidfile /run/ntp/chronyd.pid"
  echo "bindcmdaddress /run/ntp/chronyd.sock"
  echo "cmdport 0"
} > "$CONF"
say "servers: $(echo "$lines" | awk '{print $2 ($3 == "port" ? ":" $4 : "")}' | tr '\n' ' ')"
if [ -n "$ONCE" ]; then
  before=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  if chronyd -q -u root -f "$CONF" -t "$TIMEOUT" 2>&1; then
    say "clock set: was $before, now $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    exit 0
  fi
  say "no server answered within ${TIMEOUT}s; the clock is not set"
  exit 1
fi
exec chronyd -d -u root -f "$CONF"
