#!/bin/sh
# udhcpc's event script: $1 is deconfig|bound|renew|leasefail|nak; the lease is in the
# environment (interface ip mask router dns domain search lease mtu ntpsrv broadcast).
# Writes /run/resolvconf/resolv.conf (which /etc/resolv.conf links to) and
# /run/dhcpcd/ntp-servers from every interface's lease.
set -u
run=${LK_DHCP_RUN:-/run/dhcpcd}
state=${LK_DHCP_STATE:-$run}
nic=$interface
event=$1
uptime_s() { cut -d. -f1 /proc/uptime; }

# Rewrites a file in place: containers bind /etc/resolv.conf, which pins the file's inode, so a
# rename would leave them with the old one.
rewrite() {
	cat "$2" >"$1.new" && cat "$1.new" >"$1"
	rm -f "$1.new"
}

# One merge at a time: each NIC has its own udhcpc, and two leases often arrive together. Under
# the lock a merge reads every NIC's files, so the last one writes the whole picture. (busybox
# has no flock: mkdir is the atomic step; a lock left by a killed script expires after 5 s.)
merge() {
	tries=0
	until mkdir "$run/.lock" 2>/dev/null; do
		tries=$((tries + 1))
		[ "$tries" -ge 50 ] && break
		sleep 0.1
	done
	tmp=$run/.merge
	: >"$tmp"
	for f in "$run"/*.resolv; do [ -f "$f" ] && cat "$f" >>"$tmp"; done
	# One nameserver line per address, in interface order, at most the three libc reads.
	awk '/^nameserver/ { if (seen[$2]++ || n >= 3) next; n++ } /^search/ { if (s++) next } { print }' "$tmp" >"$tmp.out"
	rewrite /run/resolvconf/resolv.conf "$tmp.out"
	: >"$tmp"
	for f in "$run"/*.ntp; do [ -f "$f" ] && cat "$f" >>"$tmp"; done
	awk '!seen[$0]++' "$tmp" >"$tmp.out"
	rewrite "$run/ntp-servers" "$tmp.out"
	rm -f "$tmp" "$tmp.out"
	rmdir "$run/.lock" 2>/dev/null
}

case "$event" in
deconfig)
	ip link set dev "$nic" up
	# A lease that is still valid (the service taking over from the onboot step) keeps its
	# address until the server answers; only an expired one is removed.
	if [ -s "$run/$nic.lease" ] && [ "$(cat "$run/$nic.lease")" -gt "$(uptime_s)" ]; then
		exit 0
	fi
	ip -4 addr flush dev "$nic"
	rm -f "$run/$nic.lease" "$run/$nic.resolv" "$run/$nic.ntp"
	merge
	;;
bound | renew)
	prefix=${mask:-24}
	if ! ip -4 -o addr show dev "$nic" | grep -q " $ip/$prefix "; then
		ip -4 addr flush dev "$nic"
		ip -4 addr add "$ip/$prefix" broadcast "${broadcast:-+}" dev "$nic"
	fi
	[ -n "${mtu:-}" ] && ip link set dev "$nic" mtu "$mtu"
	if [ -n "${router:-}" ]; then
		set -- $router
		# One default route per NIC; the metric keeps several NICs' routes apart.
		ip -4 route replace default via "$1" dev "$nic" metric "$((100 + $(cat /sys/class/net/"$nic"/ifindex)))"
	fi
	{
		[ -n "${search:-${domain:-}}" ] && echo "search ${search:-$domain}"
		for server in ${dns:-}; do echo "nameserver $server"; done
	} >"$run/$nic.resolv"
	: >"$run/$nic.ntp"
	for server in ${ntpsrv:-}; do echo "$server" >>"$run/$nic.ntp"; done
	echo "$(($(uptime_s) + ${lease:-3600}))" >"$run/$nic.lease"
	echo "$ip" >"$state/$nic.ip"
	merge
	echo "lk-dhcp: $nic: $event $ip/$prefix router ${router:-none} dns ${dns:-none} lease ${lease:-?}s"
	;;
leasefail | nak)
	echo "lk-dhcp: $nic: $event${message:+ ($message)}"
	;;
esac
exit 0
