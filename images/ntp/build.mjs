// busybox's applets, then chronyd with only the libraries it loads.
import { keepElfClosure } from '../lib/elf-closure.mjs';

await import('../busybox/build.mjs');
keepElfClosure(process.env.LK_ROOTFS, ['usr/sbin/chronyd'], ['usr/bin/chronyc', 'usr/lib/systemd', 'etc/init.d'], 'ntp');
