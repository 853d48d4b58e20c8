// Build a small, module-free x86_64 kernel from Debian's linux-source-6.1
// tarball and the fragments in kernel-config/, and lay out a LinuxKit kernel
// image in $LK_ROOTFS: /kernel (bzImage), /System.map, /kernel.config.
// Everything is built in, so there is no /kernel.tar of modules.
import { copyFile, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { $ } from 'zx';
import { BuildError } from './build-error.mjs';
import { configureOrFail, makeCommand, readFragments } from './configure.mjs';
import { DEFAULT_TARBALL, sourceTree } from './source-tree.mjs';

function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new BuildError(`${name} is not set`, 'run this script through the lkbuild builder');
  return value;
}

/** Environment that makes the kernel independent of who builds it, where and when. */
function reproducibleEnv(sourceDateEpoch) {
  return {
    KBUILD_BUILD_TIMESTAMP: new Date(sourceDateEpoch * 1000).toUTCString(),
    KBUILD_BUILD_USER: 'lkbuild',
    KBUILD_BUILD_HOST: 'lkbuild',
    KBUILD_BUILD_VERSION: '1',
    LC_ALL: 'C',
    TZ: 'UTC',
  };
}

async function main() {
  const rootfs = requireEnv('LK_ROOTFS');
  const workdir = requireEnv('LK_WORKDIR');
  const cacheDir = requireEnv('LK_CACHE_DIR');
  const recipeDir = process.env.LK_RECIPE_DIR ?? process.cwd();
  const jobs = process.env.LK_JOBS ?? '1';
  const sourceDateEpoch = Number(process.env.SOURCE_DATE_EPOCH ?? 0);

  $.verbose = true;
  $.env = { ...process.env, ...reproducibleEnv(sourceDateEpoch) };

  const fragments = await readFragments(resolve(recipeDir, '../../kernel-config'));
  const src = await sourceTree(process.env.LK_KERNEL_TARBALL ?? DEFAULT_TARBALL, cacheDir);
  const out = join(workdir, 'build');
  await mkdir(out, { recursive: true });

  const started = Date.now();
  await configureOrFail({ src, out, fragments, jobs });
  await $`${makeCommand(src, out, jobs)} bzImage`;
  console.log(`kernel: configured and built in ${((Date.now() - started) / 1000).toFixed(0)}s`);

  await copyFile(join(out, 'arch/x86/boot/bzImage'), join(rootfs, 'kernel'));
  await copyFile(join(out, 'System.map'), join(rootfs, 'System.map'));
  await copyFile(join(out, '.config'), join(rootfs, 'kernel.config'));
}

main().catch((error) => {
  console.error(`kernel build failed: ${error.message}`);
  if (error.hint) console.error(`hint: ${error.hint}`);
  process.exit(1);
});
