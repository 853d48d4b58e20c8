#!/bin/sh
# One getty per terminal named in $TTYS (default ttyS0 tty0) that exists, each started again
# when its session ends.
set -u
ttys=${TTYS:-ttyS0 tty0}
if [ "${INSECURE:-}" = true ]; then
	login="-n -l /bin/sh" # no name, no password: a root shell
	echo "lk-getty: INSECURE=true: root shell without a password on the consoles"
else
	login=
fi
started=0
for tty in $ttys; do
	# A character device whose driver answers (stty opens it without waiting for a carrier).
	if ! [ -c "/dev/$tty" ] || ! stty -F "/dev/$tty" >/dev/null 2>&1; then
		echo "lk-getty: /dev/$tty is not a usable terminal here; no login on it"
		continue
	fi
	# shellcheck disable=SC2086 # $login is several words or none
	(while :; do
		getty $login -L 115200 "$tty" vt100
		sleep 1
	done) &
	started=$((started + 1))
done
if [ "$started" = 0 ]; then
	echo "lk-getty: no terminal to log in on among: $ttys"
	exit 1
fi
trap 'kill 0; exit 0' TERM INT
wait
