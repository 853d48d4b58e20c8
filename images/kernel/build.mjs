// Build a small x86_64 kernel from Debian's linux-source-6.1 tarball and the
// fragments in kernel-config/, and lay out a LinuxKit kernel image in
// $LK_ROOTFS: /kernel (bzImage), /System.map, /kernel.config and /kernel.tar
// (the modules: lib/modules/<release>/..., with depmod's indexes).
import { copyFile, mkdir, readFile, rm } from 'node:fs/promises';
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
  await $`${makeCommand(src, out, jobs)} bzImage modules`;
  console.log(`kernel: configured and built in ${((Date.now() - started) / 1000).toFixed(0)}s`);

  await copyFile(join(out, 'arch/x86/boot/bzImage'), join(rootfs, 'kernel'));
  await copyFile(join(out, 'System.map'), join(rootfs, 'System.map'));
  await copyFile(join(out, '.config'), join(rootfs, 'kernel.config'));
  await packModules({ src, out, jobs, staging: join(workdir, 'modules'), tarPath: join(rootfs, 'kernel.tar'), sourceDateEpoch });
}

/** depmod (Debian's kmod package): modules_install runs it to write modules.dep and modules.alias. */
async function findDepmod() {
  for (const path of ['/usr/sbin/depmod', '/sbin/depmod']) {
    if ((await $`test -x ${path}`.nothrow()).exitCode === 0) return path;
  }
  throw new BuildError('depmod not found', "install Debian's kmod package (scripts/install-deps.sh)");
}

/**
 * Install the modules (stripped, uncompressed .ko) into `staging` and pack
 * lib/modules/<release> as a reproducible tar: sorted names, fixed mtimes, root-owned.
 */
async function packModules({ src, out, jobs, staging, tarPath, sourceDateEpoch }) {
  const depmod = await findDepmod();
  await rm(staging, { recursive: true, force: true });
  await mkdir(staging, { recursive: true });
  await $`${makeCommand(src, out, jobs)} modules_install INSTALL_MOD_PATH=${staging} INSTALL_MOD_STRIP=1 DEPMOD=${depmod}`;
  const release = (await readFile(join(out, 'include/config/kernel.release'), 'utf8')).trim();
  const modDir = join(staging, 'lib/modules', release);
  // Links back into the build tree: meaningless on the node.
  await rm(join(modDir, 'build'), { force: true });
  await rm(join(modDir, 'source'), { force: true });
  const count = (await $`find ${modDir} -name ${'*.ko'}`).stdout.split('\n').filter(Boolean).length;
  if (count === 0) throw new BuildError(`no modules were installed into ${modDir}`, 'set some drivers to =m in kernel-config/');
  await $`tar --create --file=${tarPath} --directory=${staging} --sort=name --format=gnu --mtime=@${sourceDateEpoch} --owner=0 --group=0 --numeric-owner --mode=go-w lib`;
  console.log(`kernel: ${count} module(s) for ${release} in /kernel.tar`);
}

main().catch((error) => {
  console.error(`kernel build failed: ${error.message}`);
  if (error.hint) console.error(`hint: ${error.hint}`);
  process.exit(1);
});
