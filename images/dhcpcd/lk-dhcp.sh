#!/bin/sh
# DHCP on every ethernet NIC: one busybox udhcpc per interface, event.sh applies each lease.
#   lk-dhcp              service mode: stay in the foreground and renew the leases
#   lk-dhcp --oneshot    onboot mode: exit once every NIC has a lease or given up (exit 1 if none got one)
#   --timeout SECONDS    how long to wait for a lease (default $DHCP_TIMEOUT, else 30)
set -u
oneshot=0
timeout=${DHCP_TIMEOUT:-30}
while [ $# -gt 0 ]; do
	case "$1" in
	-1 | --oneshot) oneshot=1 ;;
	-t | --timeout) shift; timeout=${1:-} ;;
	*) echo "lk-dhcp: unknown argument \"$1\" (usage: lk-dhcp [--oneshot] [--timeout SECONDS])"; exit 2 ;;
	esac
	shift
done
case "$timeout" in '' | *[!0-9]* | 0) echo "lk-dhcp: timeout \"$timeout\" is not a positive whole number of seconds"; exit 2 ;; esac

# Leases of this boot live in /run; the last address of each NIC, asked for again on the next
# boot, on the data disk when one is mounted at /var/lib.
export LK_DHCP_RUN=/run/dhcpcd
if [ -d /var/lib ] && [ "$(stat -c %d /var/lib)" != "$(stat -c %d /var)" ]; then
	export LK_DHCP_STATE=/var/lib/dhcpcd
else
	export LK_DHCP_STATE=$LK_DHCP_RUN
fi
mkdir -p "$LK_DHCP_RUN" "$LK_DHCP_STATE" /run/resolvconf

# Ethernet (ARPHRD_ETHER = 1) interfaces backed by a device: NICs, not bridges, veths or dummies.
nics=
for dev in /sys/class/net/*; do
	[ "$(cat "$dev/type" 2>/dev/null)" = 1 ] && [ -e "$dev/device" ] && nics="$nics ${dev##*/}"
done
if [ -z "$nics" ]; then
	echo "lk-dhcp: no ethernet interface found (is the NIC's driver in the kernel?)"
	exit 1
fi

client() {
	nic=$1
	shift
	requested=
	[ -s "$LK_DHCP_STATE/$nic.ip" ] && requested="-r $(cat "$LK_DHCP_STATE/$nic.ip")"
	# shellcheck disable=SC2086 # $requested is two words or none
	exec udhcpc -f -i "$nic" -s /usr/share/lk-dhcp/event.sh -O search -O ntpsrv -O mtu $requested "$@"
}

if [ "$oneshot" = 1 ]; then
	echo "lk-dhcp: asking for leases on$nics (up to ${timeout}s)"
	tries=$(((timeout + 2) / 3))
	pids=
	for nic in $nics; do
		client "$nic" -q -n -t "$tries" -T 3 -A 3 &
		pids="$pids $!"
	done
	# udhcpc gives up after its tries; the watchdog bounds a client that hangs anyway.
	# shellcheck disable=SC2086
	(sleep "$((timeout + 5))"; kill $pids 2>/dev/null) &
	watchdog=$!
	# shellcheck disable=SC2086
	wait $pids
	kill "$watchdog" 2>/dev/null
	got=0
	for nic in $nics; do [ -s "$LK_DHCP_RUN/$nic.lease" ] && got=$((got + 1)); done
	if [ "$got" = 0 ]; then
		echo "lk-dhcp: no lease on$nics within ${timeout}s; services start without a DHCP address"
		exit 1
	fi
	echo "lk-dhcp: $got interface(s) configured"
	exit 0
fi

pids=
for nic in $nics; do
	client "$nic" &
	pids="$pids $!"
done
# shellcheck disable=SC2086
trap 'kill $pids 2>/dev/null; exit 0' TERM INT
wait
