// Lays out Debian's cloud kernel (unpacked into $LK_ROOTFS by the recipe's `packages`) as a
// LinuxKit kernel image: /kernel, /kernel.config and /kernel.tar holding lib/modules/<release>/
// with only the modules modules.yml names and their dependencies (depmod's indexes made for
// that set) and lib/modules-load.d/lkbuild.conf (the `boot` list). Everything else goes.
import { createWriteStream } from 'node:fs';
import { copyFile, mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { $ } from 'zx';
import { BuildError } from '../kernel/build-error.mjs';
import { moduleIndex, parseModuleList, selectModules } from './module-set.mjs';

function requireEnv(name) {
  const value = process.env[name];
  if (!value) throw new BuildError(`${name} is not set`, 'run this script through the lkbuild builder');
  return value;
}

/** The release of the one kernel the package installed: boot/vmlinuz-<release>. */
async function kernelRelease(rootfs) {
  const kernels = (await readdir(join(rootfs, 'boot')).catch(() => [])).filter((n) => n.startsWith('vmlinuz-'));
  if (kernels.length !== 1) {
    throw new BuildError(
      `expected one boot/vmlinuz-* from the package, found ${kernels.length}`,
      'list one linux-image-* package in build.yml',
    );
  }
  return kernels[0].slice('vmlinuz-'.length);
}

async function depmod(base, release) {
  for (const path of ['/usr/sbin/depmod', '/sbin/depmod']) {
    if ((await $`test -x ${path}`.nothrow()).exitCode === 0) return $`${path} --basedir=${base} ${release}`;
  }
  throw new BuildError('depmod not found', "install Debian's kmod package (scripts/install-deps.sh)");
}

async function readIndex(modDir) {
  const read = (name) => readFile(join(modDir, name), 'utf8');
  return moduleIndex({ dep: await read('modules.dep'), alias: await read('modules.alias'), builtin: await read('modules.builtin') });
}

/** Copies the chosen modules (and the kernel's list of built-in ones) into staging/lib/modules/<release>. */
async function stageModules(modDir, stagedDir, paths) {
  for (const path of paths) {
    await mkdir(dirname(join(stagedDir, path)), { recursive: true });
    await copyFile(join(modDir, path), join(stagedDir, path));
  }
  for (const name of ['modules.builtin', 'modules.builtin.modinfo']) await copyFile(join(modDir, name), join(stagedDir, name));
  const shipped = new Set(paths);
  const order = (await readFile(join(modDir, 'modules.order'), 'utf8')).split('\n').filter((p) => shipped.has(p));
  await writeFile(join(stagedDir, 'modules.order'), order.map((p) => `${p}\n`).join(''));
}

async function main() {
  const rootfs = requireEnv('LK_ROOTFS');
  const workdir = requireEnv('LK_WORKDIR');
  const repo = requireEnv('LK_REPO_ROOT');
  const recipeDir = process.env.LK_RECIPE_DIR ?? process.cwd();
  const sourceDateEpoch = Number(process.env.SOURCE_DATE_EPOCH ?? 0);
  $.verbose = true;

  const release = await kernelRelease(rootfs);
  const modDir = join(rootfs, 'lib/modules', release);
  await depmod(rootfs, release); // the package ships no modules.dep: its postinst makes it
  const listFile = join(recipeDir, 'modules.yml');
  let lists;
  try {
    lists = parseModuleList(await readFile(listFile, 'utf8'), listFile);
  } catch (e) {
    throw new BuildError(e.message, 'modules.yml has the lists devices, boot and extra of module names');
  }
  const index = await readIndex(modDir);
  const chosen = selectModules(index, [...lists.devices, ...lists.boot, ...lists.extra]);
  if (chosen.unknown.length) {
    throw new BuildError(
      `${listFile}: ${chosen.unknown.join(', ')}: neither a module nor built into ${release}`,
      `look the names up in ${release}'s modules.dep and modules.builtin, or drop them`,
    );
  }

  const staging = join(workdir, 'staging');
  const stagedDir = join(staging, 'lib/modules', release);
  await stageModules(modDir, stagedDir, chosen.paths);
  const boot = lists.boot.filter((n) => !chosen.builtin.includes(n));
  await mkdir(join(staging, 'lib/modules-load.d'), { recursive: true });
  await writeFile(join(staging, 'lib/modules-load.d/lkbuild.conf'), `# ${recipeDir}/modules.yml: boot\n${boot.join('\n')}\n`);
  await depmod(staging, release);
  const { tarFromDir } = await import(join(repo, 'builder/dist/archive/tar-from-dir.js'));
  await pipeline(tarFromDir(staging, sourceDateEpoch), createWriteStream(join(rootfs, 'kernel.tar')));

  await rename(join(rootfs, 'boot', `vmlinuz-${release}`), join(rootfs, 'kernel'));
  await rename(join(rootfs, 'boot', `config-${release}`), join(rootfs, 'kernel.config'));
  for (const name of await readdir(rootfs)) {
    if (!['kernel', 'kernel.config', 'kernel.tar'].includes(name)) await rm(join(rootfs, name), { recursive: true, force: true });
  }
  if (chosen.builtin.length) console.log(`kernel-debian: built into ${release}: ${chosen.builtin.join(' ')}`);
  console.log(`kernel-debian: ${chosen.paths.length} module(s) of ${index.dep.size} for ${release} in /kernel.tar`);
}

main().catch((error) => {
  console.error(`kernel-debian build failed: ${error.message}`);
  if (error.hint) console.error(`hint: ${error.hint}`);
  process.exit(1);
});
