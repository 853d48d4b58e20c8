// The kernel fragments against the real Kconfig of linux-source-6.1: every
// requested option must survive allnoconfig + olddefconfig, and a dropped one
// must be reported. Needs /usr/src/linux-source-6.1.tar.xz (about 20 s cold).
import { mkdtemp, rm } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM helpers of the recipe, no type declarations
import { configure, readFragments } from './configure.mjs';
// @ts-expect-error plain ESM helpers of the recipe, no type declarations
import { mergeFragments, parseKconfig, unmetRequests } from './kconfig.mjs';
// @ts-expect-error plain ESM helpers of the recipe, no type declarations
import { DEFAULT_TARBALL, sourceTree } from './source-tree.mjs';

const configDir = resolve(import.meta.dirname, '../../kernel-config');
// Share the extracted tree with the builder's cache for this recipe.
const cacheDir = join(process.env.LKBUILD_CACHE ?? join(homedir(), '.cache/lkbuild'), 'recipes', 'lkbuild-kernel');

describe('kconfig helpers', () => {
  it('reads both spellings of "off"', () => {
    const entries = parseKconfig('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C=n\n# comment\n');
    expect(entries.map((e: { name: string; value: string }) => [e.name, e.value])).toEqual([
      ['CONFIG_A', 'y'],
      ['CONFIG_B', 'n'],
      ['CONFIG_C', 'n'],
    ]);
  });

  it('rejects lines that are not Kconfig', () => {
    expect(() => parseKconfig('CONFIG_A y\n', 'frag.config')).toThrow(/frag.config:1/);
  });

  it('lets a later fragment win and records the override', () => {
    const { merged, overrides } = mergeFragments([
      { source: 'a', text: 'CONFIG_X=y\n' },
      { source: 'b', text: '# CONFIG_X is not set\n' },
    ]);
    expect(merged.get('CONFIG_X').value).toBe('n');
    expect(overrides).toHaveLength(1);
  });

  it('treats an option missing from .config as off', () => {
    const { merged } = mergeFragments([{ source: 'a', text: 'CONFIG_X=y\n# CONFIG_Y is not set\n' }]);
    const unmet = unmetRequests(merged, new Map([['CONFIG_Z', 'y']]));
    expect(unmet.map((u: { name: string; got: string }) => [u.name, u.got])).toEqual([['CONFIG_X', 'n']]);
  });
});

describe('kernel-config/ against Kconfig', () => {
  let src: string;
  let out: string;

  beforeAll(async () => {
    src = await sourceTree(DEFAULT_TARBALL, cacheDir);
    out = await mkdtemp(join(tmpdir(), 'lkbuild-kconfig-'));
  }, 300_000);
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('keeps every option the fragments request', async () => {
    const { unmet } = await configure({ src, out, fragments: await readFragments(configDir), jobs: 2 });
    expect(unmet).toEqual([]);
  }, 120_000);

  it('reports an option whose dependency is missing', async () => {
    // VIRTIO_BLK depends on BLK_DEV and VIRTIO, which allnoconfig leaves off.
    const { unmet } = await configure({ src, out, fragments: [{ source: 'test', text: 'CONFIG_VIRTIO_BLK=y\n' }] });
    expect(unmet.map((u: { name: string }) => u.name)).toEqual(['CONFIG_VIRTIO_BLK']);
  }, 120_000);
});
