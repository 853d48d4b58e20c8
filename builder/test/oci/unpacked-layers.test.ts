// The cache of unpacked layers: a second build reads a layer's operations and data from
// unpacked/sha256/<digest> without touching the blob, gets the same tree, and never trusts a
// file that does not read back whole.
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { applyLayerOps } from '../../src/fs/apply-layer.js';
import { Spool } from '../../src/fs/spool.js';
import { FsTree } from '../../src/fs/tree.js';
import { commitImage, writeLayer } from '../../src/oci/image-store.js';
import { cleanCache } from '../../src/oci/registry/clean.js';
import { OciLayout } from '../../src/oci/layout.js';
import type { Descriptor } from '../../src/oci/media-types.js';
import { UnpackedLayers } from '../../src/oci/unpacked-layers.js';
import { tarStream, type TarItem } from '../helpers/tar-layer.js';

const LOWER: TarItem[] = [
  { name: 'bin/', type: 'directory', mode: 0o755 },
  { name: 'bin/tool', body: 'tool v1\n', mode: 0o4755 },
  { name: 'bin/same', type: 'link', linkname: 'bin/tool' },
  { name: 'etc/motd', body: 'hello\n' },
  { name: 'etc/old/conf', body: 'old\n' },
  { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
  { name: 'dev/null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 },
  { name: 'tmp/disk', type: 'block-device', mode: 0o666, devmajor: 7, devminor: 0 },
  { name: 'big', body: 'x'.repeat(3 << 20) },
];
const UPPER: TarItem[] = [{ name: 'etc/.wh.motd' }, { name: 'etc/old/.wh..wh..opq' }, { name: 'etc/old/new', body: 'new\n' }];

let dir: string;
let layout: OciLayout;
let lower: Descriptor;
let upper: Descriptor;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lk-unpacked-'));
  layout = new OciLayout(join(dir, 'cache'));
  await layout.init();
  lower = (await writeLayer(layout, tarStream(LOWER))).descriptor;
  upper = (await writeLayer(layout, tarStream(UPPER))).descriptor;
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

/** One build's view: a scratch spool, the cache's layers, warnings collected. */
async function build<T>(fn: (layers: UnpackedLayers, warnings: string[]) => Promise<T>): Promise<T> {
  const spool = await Spool.create();
  const warnings: string[] = [];
  const layers = new UnpackedLayers(layout, spool, (m) => warnings.push(m));
  try {
    return await fn(layers, warnings);
  } finally {
    await layers.dispose();
    await spool.dispose();
  }
}

/** Both layers applied below c/rootfs, as `path type mode uid:gid [link|dev|data]` lines. */
async function listing(layers: UnpackedLayers): Promise<string[]> {
  const tree = new FsTree();
  const deviceWarnings: string[] = [];
  for (const layer of [lower, upper]) {
    const { ops, spool } = await layers.get(layer);
    applyLayerOps(tree, ops, 'c/rootfs', spool, { image: 'test/img:1', warn: (m) => deviceWarnings.push(m) });
  }
  const lines = [];
  for (const [path, e] of tree.sorted()) {
    const what = e.content
      ? (await text(e.content.open())).slice(0, 12)
      : (e.linkname ?? (e.devmajor !== undefined ? `${e.devmajor},${e.devminor}` : ''));
    lines.push(`${path} ${e.type} ${e.mode.toString(8)} ${e.uid}:${e.gid} ${what}`);
  }
  return [...lines, ...deviceWarnings];
}

const EXPECTED = [
  'c dir 755 0:0 ',
  'c/rootfs dir 755 0:0 ',
  'c/rootfs/big file 644 0:0 xxxxxxxxxxxx',
  'c/rootfs/bin dir 755 0:0 ',
  'c/rootfs/bin/same file 4755 0:0 tool v1\n',
  'c/rootfs/bin/tool file 4755 0:0 tool v1\n',
  'c/rootfs/dev dir 755 0:0 ',
  'c/rootfs/dev/null char 666 0:0 1,3',
  'c/rootfs/etc dir 755 0:0 ',
  'c/rootfs/etc/old dir 755 0:0 ',
  'c/rootfs/etc/old/new file 644 0:0 new\n',
  'c/rootfs/lib symlink 644 0:0 usr/lib',
  'test/img:1: left out the block device /tmp/disk: device nodes belong in /dev',
];

async function cachedFiles(): Promise<string[]> {
  return (await readdir(layout.unpackedDir()).catch(() => [])).sort();
}

describe('unpacked layers', () => {
  test('the first build unpacks each layer into the cache; a second reads it from there without the blob', async () => {
    expect(await build(listing)).toEqual(EXPECTED);
    const hex = (d: Descriptor) => d.digest.slice('sha256:'.length);
    expect(await cachedFiles()).toEqual([hex(lower), hex(upper)].sort());
    // The blob is not read again: garbage in its place changes nothing.
    const blob = layout.blobPath(lower.digest);
    const saved = await readFile(blob);
    await writeFile(blob, Buffer.from('not a gzip stream'));
    try {
      expect(await build(listing)).toEqual(EXPECTED);
    } finally {
      await writeFile(blob, saved);
    }
  });

  test('one layer used twice in a build is read once', async () => {
    await build(async (layers) => {
      const [a, b] = await Promise.all([layers.get(lower), layers.get(lower)]);
      expect(a).toBe(b);
    });
  });

  test.each([
    ['cut short', (path: string) => truncate(path, 1000)],
    [
      'a trailer with another magic',
      async (path: string) => {
        const b = await readFile(path);
        b.write('NOTLKUNP', b.length - 32, 'latin1');
        await writeFile(path, b);
      },
    ],
    [
      'an index naming a path through ..',
      async (path: string) => {
        const b = await readFile(path);
        const at = b.indexOf('"path":"etc/motd"');
        expect(at).toBeGreaterThan(0);
        b.write('"path":"../motd"', at, 'latin1'); // one byte shorter: the JSON stays the same length
        b.write(' ', at + 16, 'latin1');
        await writeFile(path, b);
      },
    ],
    [
      'a data range beyond the data',
      async (path: string) => {
        const b = await readFile(path);
        const at = b.indexOf(`"size":${3 << 20},`);
        expect(at).toBeGreaterThan(0);
        b.write('"size":9999999,', at, 'latin1'); // as many digits: the JSON stays the same length
        await writeFile(path, b);
      },
    ],
  ])('a damaged cache file (%s) is unpacked again, with a warning', async (_what, damage) => {
    const path = join(layout.unpackedDir(), lower.digest.slice('sha256:'.length));
    await build(listing);
    await damage(path);
    const warnings = await build(async (layers, w) => {
      expect(await listing(layers)).toEqual(EXPECTED);
      return w;
    });
    expect(warnings).toEqual([
      expect.stringMatching(new RegExp(`unpacked copy of layer ${lower.digest} is damaged .*: unpacking it again`)),
    ]);
    // Rewritten whole: the next build reads it without a warning.
    expect(await build(async (layers, w) => [await listing(layers), w])).toEqual([EXPECTED, []]);
  });

  test('two builds unpacking one layer at once both get it; one file stays, no temporary files', async () => {
    await rm(layout.unpackedDir(), { recursive: true, force: true });
    const both = await Promise.all([build(listing), build(listing)]);
    expect(both).toEqual([EXPECTED, EXPECTED]);
    expect((await cachedFiles()).filter((n) => n.startsWith('.tmp-'))).toEqual([]);
    expect(await cachedFiles()).toHaveLength(2);
  });

  test('a layer that fails to apply fails again from the cache (writing through a symlink)', async () => {
    const evil = (
      await writeLayer(
        layout,
        tarStream([
          { name: 'l', type: 'symlink', linkname: '../../etc' },
          { name: 'l/passwd', body: 'x' },
        ]),
      )
    ).descriptor;
    for (let round = 0; round < 2; round++) {
      await build(async (layers) => {
        const { ops, spool } = await layers.get(evil);
        expect(() => applyLayerOps(new FsTree(), ops, 'c/rootfs', spool)).toThrow(/goes through the symlink/);
      });
    }
    expect(await cachedFiles()).toContain(evil.digest.slice('sha256:'.length));
  });

  test('a layer that is not a valid tar leaves nothing in the cache', async () => {
    const blob = await layout.writeBlob(Buffer.from('\x1f\x8b not really gzip'));
    const bad: Descriptor = { mediaType: lower.mediaType, ...blob };
    await build(async (layers) => {
      await expect(layers.get(bad)).rejects.toThrow();
    });
    const names = await cachedFiles();
    expect(names).not.toContain(blob.digest.slice('sha256:'.length));
    expect(names.filter((n) => n.startsWith('.tmp-'))).toEqual([]);
  });

  test('a cache the build cannot write to: layers unpack into the scratch spool, nothing is cached', async () => {
    await rm(layout.unpackedDir(), { recursive: true, force: true });
    await mkdir(layout.unpackedDir(), { recursive: true });
    // Immutable: even root cannot create files in it (EPERM).
    execFileSync('chattr', ['+i', layout.unpackedDir()]);
    try {
      expect(await build(listing)).toEqual(EXPECTED);
      expect(await cachedFiles()).toEqual([]);
    } finally {
      execFileSync('chattr', ['-i', layout.unpackedDir()]);
    }
  });

  test('cache clean removes the unpacked copy of a layer no image uses, and keeps those in use', async () => {
    await build(listing);
    await commitImage(layout, 'test/upper:1', [{ descriptor: upper, diffId: upper.digest }], { architecture: 'amd64', os: 'linux' });
    const before = await cachedFiles();
    expect(before).toContain(lower.digest.slice('sha256:'.length));
    const result = await cleanCache(layout, { minAgeMs: 0 });
    expect(result.unpackedRemoved).toBe(before.length - 1);
    expect(await cachedFiles()).toEqual([upper.digest.slice('sha256:'.length)]);
    expect(await layout.hasBlob(lower)).toBe(false);
  });
});
