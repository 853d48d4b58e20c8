// busybox's applets (the login shell and tools), then only what dropbear needs at run time:
// Debian's libc6 and friends bring libraries dropbear never loads, gconv modules, locales and
// documentation. The shared libraries kept are the closure of dropbear's ELF NEEDED entries.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

await import('../busybox/build.mjs');
const root = process.env.LK_ROOTFS;
const programs = ['usr/sbin/dropbear', 'usr/bin/dropbearkey'];
const libDirs = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu'];

for (const path of ['usr/share', 'usr/lib/x86_64-linux-gnu/gconv', 'usr/libexec', 'usr/bin/dbclient', 'usr/bin/dropbearconvert', 'var/lib/dpkg', 'etc/ld.so.conf.d']) {
  rmSync(join(root, path), { recursive: true, force: true });
}

function needed(file) {
  const out = execFileSync('readelf', ['-d', '-W', file], { encoding: 'utf8' });
  return [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
}

function findLib(name) {
  for (const dir of libDirs) if (existsSync(join(root, dir, name))) return join(root, dir, name);
  throw new Error(`images/sshd: ${name}, needed by dropbear, is in none of ${libDirs.join(', ')}`);
}

// Every path of the closure, with the files its symlinks (sonames) point at.
const keep = new Set();
const queue = programs.map((p) => join(root, p));
const interpreter = 'ld-linux-x86-64.so.2';
queue.push(findLib(interpreter));
while (queue.length) {
  let file = queue.pop();
  while (!keep.has(file) && lstatSync(file).isSymbolicLink()) {
    keep.add(file);
    file = join(dirname(file), readlinkSync(file));
  }
  if (keep.has(file)) continue;
  keep.add(file);
  for (const lib of needed(file)) queue.push(findLib(lib));
}
let removed = 0;
for (const dir of libDirs) {
  if (!existsSync(join(root, dir))) continue;
  for (const name of readdirSync(join(root, dir))) {
    const path = join(root, dir, name);
    if (!keep.has(path)) {
      rmSync(path, { recursive: true, force: true });
      removed++;
    }
  }
}
console.log(`kept ${keep.size} ELF files and links for dropbear, removed ${removed} others`);
