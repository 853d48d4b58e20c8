// Links every applet the packaged busybox offers, so containers can call `sh`, `ls`, `sleep`...
import { $ } from 'zx';
import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

const root = process.env.LK_ROOTFS;
const busybox = join(root, 'bin/busybox');
if (!existsSync(busybox)) throw new Error(`${busybox} is missing: the busybox-static package did not install it`);

$.verbose = false;
const applets = (await $`${busybox} --list-full`).stdout.split('\n').filter(Boolean);
for (const applet of applets) {
  const link = join(root, applet);
  if (existsSync(link)) continue;
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(relative(dirname(link), busybox), link);
}
mkdirSync(join(root, 'tmp'), { recursive: true });
console.log(`linked ${applets.length} applets`);
