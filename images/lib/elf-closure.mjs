// Keeps only what some programs need at run time: Debian's libc6 and friends bring libraries
// they never load, gconv modules, locales and documentation. The shared libraries kept are the
// closure of the programs' ELF NEEDED entries (with the sonames' symlinks); every other file in
// the library directories goes, and so do the `drop` paths.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';

const libDirs = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu'];
const interpreter = 'ld-linux-x86-64.so.2';

function needed(file) {
  const out = execFileSync('readelf', ['-d', '-W', file], { encoding: 'utf8' });
  return [...out.matchAll(/\(NEEDED\)\s+Shared library: \[([^\]]+)\]/g)].map((m) => m[1]);
}

/**
 * root: the image's root filesystem; programs: paths relative to it; drop: more paths to remove
 * (documentation, package state). `who` names the image in errors and the summary line.
 */
export function keepElfClosure(root, programs, drop, who) {
  for (const path of ['usr/share', 'usr/lib/x86_64-linux-gnu/gconv', 'var/lib/dpkg', 'etc/ld.so.conf.d', ...drop]) {
    rmSync(join(root, path), { recursive: true, force: true });
  }
  const findLib = (name, by) => {
    for (const dir of libDirs) if (existsSync(join(root, dir, name))) return join(root, dir, name);
    throw new Error(`images/${who}: ${name}, needed by ${by}, is in none of ${libDirs.join(', ')}`);
  };
  const keep = new Set();
  const queue = programs.map((p) => join(root, p));
  queue.push(findLib(interpreter, 'every dynamic program'));
  while (queue.length) {
    let file = queue.pop();
    while (!keep.has(file) && lstatSync(file).isSymbolicLink()) {
      keep.add(file);
      file = join(dirname(file), readlinkSync(file));
    }
    if (keep.has(file)) continue;
    keep.add(file);
    for (const lib of needed(file)) queue.push(findLib(lib, file.slice(root.length + 1)));
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
  console.log(`kept ${keep.size} ELF files and links for ${who}, removed ${removed} others`);
}
