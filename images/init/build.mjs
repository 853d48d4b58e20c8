// Lays out the init's programs as the on-image contract wants: /init, /usr/bin/lk-run,
// /usr/bin/lkctl -> /init.
import { chmodSync, copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { makeInit, required } from './make-init.mjs';

const rootfs = required('LK_ROOTFS');
const out = makeInit();

mkdirSync(join(rootfs, 'usr', 'bin'), { recursive: true });
copyFileSync(join(out, 'init'), join(rootfs, 'init'));
chmodSync(join(rootfs, 'init'), 0o755);
copyFileSync(join(out, 'lk-run'), join(rootfs, 'usr', 'bin', 'lk-run'));
chmodSync(join(rootfs, 'usr', 'bin', 'lk-run'), 0o755);
symlinkSync('/init', join(rootfs, 'usr', 'bin', 'lkctl'));
