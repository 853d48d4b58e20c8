// busybox's applets (the login shell and tools), then only what dropbear needs at run time.
import { keepElfClosure } from '../lib/elf-closure.mjs';

await import('../busybox/build.mjs');
keepElfClosure(
  process.env.LK_ROOTFS,
  ['usr/sbin/dropbear', 'usr/bin/dropbearkey'],
  ['usr/libexec', 'usr/bin/dbclient', 'usr/bin/dropbearconvert'],
  'sshd',
);
