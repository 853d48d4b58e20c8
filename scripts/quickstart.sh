#!/usr/bin/env bash
# The README's first command: install, build examples/node.yml, boot it under QEMU with a fresh
# SSH key as cloud-config user data, log in over SSH and run `lkctl ls`, then power it off
# (LKBUILD_KEEP=1 leaves it running for you to log in).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
mkdir -p out
lkbuild() { node builder/bin/lkbuild.js "$@"; }
lkbuild build -o out examples/node.yml
[ -f out/id_ed25519 ] || ssh-keygen -q -t ed25519 -N '' -C lkbuild-quickstart -f out/id_ed25519
port=${LKBUILD_SSH_PORT:-2222}
state=out/node-state
userdata=$(printf '#cloud-config\nssh_authorized_keys:\n  - %s\n' "$(cat out/id_ed25519.pub)")
echo "booting out/node under QEMU (SSH on 127.0.0.1:$port; the console goes to $state/console.log)"
lkbuild run qemu --detached --state "$state" --publish "127.0.0.1:$port:22" --data "$userdata" out/node
stop() { lkbuild run stop "$state" >/dev/null 2>&1 || true; }
[ "${LKBUILD_KEEP:-}" = 1 ] || trap stop EXIT
for _ in $(seq 1 90); do
	grep -q 'lk-init: ready' "$state/console.log" 2>/dev/null && break
	sleep 2
done
grep -E '^(lk-init|lk-dhcp|metadata|lk-sshd):' "$state/console.log" || true
ssh_node() {
	ssh -i out/id_ed25519 -p "$port" -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
		-o LogLevel=ERROR root@127.0.0.1 "$@"
}
for _ in $(seq 1 20); do
	# sshd starts a moment after the node is ready: early attempts are reset, quietly.
	if ssh_node 'echo "logged in to $(hostname) as $(id -un)"; lkctl ls' 2>out/ssh.err; then
		if [ "${LKBUILD_KEEP:-}" = 1 ]; then
			echo "the node runs on: ssh -i out/id_ed25519 -p $port root@127.0.0.1; stop it with: npx lkbuild run stop $state"
		else
			echo "powering the node off (LKBUILD_KEEP=1 leaves it running)"
		fi
		exit 0
	fi
	sleep 3
done
cat out/ssh.err >&2
echo "could not log in over SSH; see $state/console.log" >&2
stop
exit 1
