// The pristine kernel source tree, extracted once per tarball digest into the
// recipe cache so that rebuilds skip the extraction.
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { $ } from 'zx';
import { BuildError } from './build-error.mjs';

export const DEFAULT_TARBALL = '/usr/src/linux-source-6.1.tar.xz';
const TOP_DIR_IN_TARBALL = 'linux-source-6.1';

async function sha256File(path) {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

function isRunning(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Remove half-extracted trees left by builds that were killed. */
async function removeAbandonedStaging(tree) {
  const prefix = `${basename(tree)}.tmp-`;
  const names = await readdir(dirname(tree)).catch(() => []);
  for (const name of names) {
    if (name.startsWith(prefix) && !isRunning(Number(name.slice(prefix.length)))) {
      await rm(join(dirname(tree), name), { recursive: true, force: true });
    }
  }
}

/** Path of the extracted tree for `tarball` under `cacheDir`, extracting it if needed. */
export async function sourceTree(tarball, cacheDir) {
  if (!existsSync(tarball)) {
    throw new BuildError(
      `kernel source tarball ${tarball} not found`,
      'install the Debian package linux-source-6.1 (apt-get install linux-source-6.1)',
    );
  }
  const digest = await sha256File(tarball);
  const tree = join(cacheDir, `linux-src-${digest.slice(0, 16)}`);
  if (existsSync(join(tree, 'Makefile'))) return tree;

  // Extract beside the final name and rename: a half-extracted tree is never visible.
  await removeAbandonedStaging(tree);
  const staging = `${tree}.tmp-${process.pid}`;
  await mkdir(staging, { recursive: true });
  await $`tar -xJf ${tarball} -C ${staging}`;
  // An empty .scmversion stops setlocalversion from asking git about an enclosing checkout,
  // which would otherwise change the kernel release string.
  await writeFile(join(staging, TOP_DIR_IN_TARBALL, '.scmversion'), '');
  try {
    await rename(join(staging, TOP_DIR_IN_TARBALL), tree);
  } catch (error) {
    if (!existsSync(join(tree, 'Makefile'))) throw error; // otherwise a parallel build won the race
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  return tree;
}
