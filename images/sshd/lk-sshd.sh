#!/bin/sh
# Starts dropbear: public-key logins only, host keys made once and kept, keys merged from the
# metadata (/run/config/ssh/authorized_keys) and the node's /root/.ssh/authorized_keys.
set -u
port=${SSH_PORT:-22}

# Host keys survive a reboot on the data disk (mounted at /var/lib by the mount image);
# without one they live in /run and change on every boot.
if [ -d /var/lib ] && [ "$(stat -c %d /var/lib)" != "$(stat -c %d /var)" ]; then
	keys=/var/lib/dropbear
else
	keys=/run/dropbear
fi
mkdir -p "$keys"
chmod 700 "$keys"
hostkey=$keys/dropbear_ed25519_host_key
if [ ! -s "$hostkey" ]; then
	dropbearkey -t ed25519 -f "$hostkey.new" >/dev/null 2>&1 && mv "$hostkey.new" "$hostkey" || {
		echo "lk-sshd: cannot generate a host key in $keys"
		exit 1
	}
	echo "lk-sshd: generated host key $hostkey"
fi
echo "lk-sshd: host key $(dropbearkey -y -f "$hostkey" | grep -o 'SHA256:[^ ]*')"

# Merged, each key once: the build file's keys first, then the platform's.
mkdir -p /root/.ssh
chmod 700 /root /root/.ssh 2>/dev/null
auth=/root/.ssh/authorized_keys
{
	[ -f "$auth" ] && cat "$auth"
	[ -f /run/config/ssh/authorized_keys ] && cat /run/config/ssh/authorized_keys
} | awk 'NF && !/^#/ && !seen[$0]++' >"$auth.new"
mv "$auth.new" "$auth"
chmod 600 "$auth"
count=$(wc -l <"$auth")
[ "$count" = 0 ] && echo "lk-sshd: no authorized keys yet (none in /run/config/ssh/authorized_keys or $auth): nobody can log in"
echo "lk-sshd: $count authorized key(s); listening on port $port"

# -F foreground, -E log to stderr, -s no password logins, -p port, -r host key.
exec dropbear -F -E -s -p "$port" -r "$hostkey"
