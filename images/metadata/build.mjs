// The metadata program (QuickJS + src/metadata-main.ts, static) at /usr/bin/metadata.
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { makeInit, required } from '../init/make-init.mjs';

const rootfs = required('LK_ROOTFS');
const out = makeInit();
mkdirSync(join(rootfs, 'usr', 'bin'), { recursive: true });
mkdirSync(join(rootfs, 'tmp'), { recursive: true });
copyFileSync(join(out, 'metadata'), join(rootfs, 'usr', 'bin', 'metadata'));
chmodSync(join(rootfs, 'usr', 'bin', 'metadata'), 0o755);
