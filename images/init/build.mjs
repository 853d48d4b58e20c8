// Builds init/build/out/{init,lk-run} with init/Makefile (which also runs tsc)
// and lays them out as the on-image contract wants: /init, /usr/bin/lk-run,
// /usr/bin/lkctl -> /init.
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`images/init: ${name} is not set (run this through the lkbuild builder)`);
    process.exit(1);
  }
  return value;
}

const rootfs = required('LK_ROOTFS');
const repo = required('LK_REPO_ROOT');
const jobs = process.env.LK_JOBS || '2';
const out = join(repo, 'init', 'build', 'out');

try {
  execFileSync('make', ['-s', `-j${jobs}`, '-C', join(repo, 'init')], { stdio: 'inherit' });
} catch {
  console.error('images/init: building the init failed (see the make output above)');
  process.exit(1);
}

mkdirSync(join(rootfs, 'usr', 'bin'), { recursive: true });
copyFileSync(join(out, 'init'), join(rootfs, 'init'));
chmodSync(join(rootfs, 'init'), 0o755);
copyFileSync(join(out, 'lk-run'), join(rootfs, 'usr', 'bin', 'lk-run'));
chmodSync(join(rootfs, 'usr', 'bin', 'lk-run'), 0o755);
symlinkSync('/init', join(rootfs, 'usr', 'bin', 'lkctl'));
