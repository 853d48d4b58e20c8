// Produce the final .config: allnoconfig with the merged fragments forced in,
// then olddefconfig, then a check that every requested value survived.
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { $ } from 'zx';
import { BuildError } from './build-error.mjs';
import { describeUnmet, mergeFragments, parseKconfig, renderFragment, toValueMap, unmetRequests } from './kconfig.mjs';

/** The *.config fragments of `configDir`, in name order (later ones win). */
export async function readFragments(configDir) {
  const names = (await readdir(configDir)).filter((n) => n.endsWith('.config')).sort();
  if (names.length === 0) throw new BuildError(`no *.config fragments in ${configDir}`);
  return Promise.all(
    names.map(async (name) => ({
      source: `kernel-config/${name}`,
      text: await readFile(join(configDir, name), 'utf8'),
    })),
  );
}

/** make invocation for an out-of-tree build of `src` into `out`. */
export function makeCommand(src, out, jobs) {
  return ['make', '-s', '-C', src, `O=${out}`, 'ARCH=x86_64', `-j${jobs}`, `KCFLAGS=${KCFLAGS}`];
}

/**
 * With -Os (kernel-config/89-memory.config) GCC expands fixed-size memset/memcpy as `rep stosb`
 * / `rep movsb`, which QEMU's TCG runs a byte per iteration: poisoning every freed page of
 * the initrd and the init sections made a TCG boot 0.2 s slower. 8-byte `rep` forms, as -O2
 * chose, cost a few bytes of code and nothing on hardware.
 */
const KCFLAGS = '-mstringop-strategy=rep_8byte';

/**
 * Configure `out` from `fragments`. Returns the options that did not take
 * effect (empty when the configuration is as requested) and the overrides.
 */
export async function configure({ src, out, fragments, jobs = 1 }) {
  const { merged, overrides } = mergeFragments(fragments);
  const fragmentPath = join(out, 'lkbuild.fragment');
  await writeFile(fragmentPath, renderFragment(merged));
  const make = makeCommand(src, out, jobs);
  // allnoconfig with the fragment forced in: every symbol nobody asked for stays off.
  await $`${make} KCONFIG_ALLCONFIG=${fragmentPath} allnoconfig`;
  await $`${make} olddefconfig`;
  const finalValues = toValueMap(parseKconfig(await readFile(join(out, '.config'), 'utf8'), '.config'));
  return { unmet: unmetRequests(merged, finalValues), overrides };
}

/** configure(), failing with the list of options that were silently dropped. */
export async function configureOrFail(options) {
  const { unmet, overrides } = await configure(options);
  for (const { previous, entry } of overrides) {
    console.log(`kernel: ${entry.name}=${entry.value} (${entry.source}) overrides ${previous.value} (${previous.source})`);
  }
  if (unmet.length > 0) {
    throw new BuildError(
      `${unmet.length} requested kernel option(s) did not take effect:\n${describeUnmet(unmet)}`,
      'enable their dependencies in kernel-config/ (see the "depends on" lines of each option\'s Kconfig entry)',
    );
  }
}
