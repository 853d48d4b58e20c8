// Hostile archives against both unpackers: applyLayer (layers into the node's in-memory tree)
// and extractEntries (Debian packages and layers onto the build host's disk). Nothing may be
// written outside the target; every refusal is an LkError naming the entry.
import { execFileSync } from 'node:child_process';
import { chmod, lstat, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import tar from 'tar-stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LkError } from '../../src/errors.js';
import { applyLayer } from '../../src/fs/apply-layer.js';
import { Spool } from '../../src/fs/spool.js';
import { FsTree } from '../../src/fs/tree.js';
import { debDataEntries } from '../../src/pkg/debian/deb.js';
import { extractEntries } from '../../src/pkg/extract-to-dir.js';
import { tarBytes, type TarItem } from '../helpers/tar-layer.js';

type Item = TarItem;

/** Every path below `dir` with its type, mode and (for files) content: a before/after fingerprint. */
async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const st = await lstat(p);
      out.push(`${relative(dir, p)} ${st.mode.toString(8)} ${st.isFile() ? await readFile(p, 'utf8') : ''}`);
      if (st.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out;
}

/** Hostile entries, each its own archive: [what, entries, what should happen]. */
const HOSTILE: [string, Item[], RegExp | 'inside'][] = [
  ['an absolute name', [{ name: '/abs/file', body: 'x' }], 'inside'],
  ['.. in a name', [{ name: '../outside/escaped', body: 'x' }], /leaves its root/],
  ['.. deep in a name', [{ name: 'a/b/../../../outside/escaped', body: 'x' }], /leaves its root/],
  [
    'a file through a symlink the archive made',
    [
      { name: 'l', type: 'symlink', linkname: '../outside' },
      { name: 'l/escaped', body: 'x' },
    ],
    /goes through the symlink/,
  ],
  [
    'a file through an absolute symlink',
    [
      { name: 'e', type: 'symlink', linkname: '/' },
      { name: 'e/escaped', body: 'x' },
    ],
    /goes through the symlink/,
  ],
  [
    'a directory entry on a symlink (chmod would follow it)',
    [
      { name: 'd', type: 'symlink', linkname: '../outside/dir' },
      { name: 'd', type: 'directory', mode: 0o777 },
    ],
    /already a symlink/,
  ],
  ['a hard link to a file outside', [{ name: 'h', type: 'link', linkname: '../outside/canary' }], /leaves its root/],
  [
    'a hard link through a symlink',
    [
      { name: 's', type: 'symlink', linkname: '../outside' },
      { name: 'h', type: 'link', linkname: 's/canary' },
    ],
    /goes through the symlink/,
  ],
  [
    'a whiteout of ..',
    [
      { name: 'sub/', type: 'directory' },
      { name: 'sub/.wh...', body: '' },
    ],
    'inside',
  ],
  ['an opaque marker behind ..', [{ name: '../.wh..wh..opq', body: '' }], /leaves its root/],
  [
    'a file where a directory is',
    [
      { name: 'x/', type: 'directory' },
      { name: 'x', body: 'x' },
    ],
    /cannot write "\/x"/,
  ],
];

const outcome = (run: Promise<void>): Promise<unknown> =>
  run.then(
    () => null,
    (e: unknown) => e,
  );

function expectOutcome(error: unknown, expected: RegExp | 'inside'): void {
  if (expected === 'inside') return expect(error).toBeNull();
  expect(error).toBeInstanceOf(LkError);
  expect((error as Error).message).toMatch(expected);
}

describe('extract-to-dir (writes onto the build host)', () => {
  let sandbox: string;
  beforeAll(async () => {
    sandbox = await mkdtemp(join(tmpdir(), 'lk-unpack-'));
  });

  /** A fresh target next to an `outside` directory holding canaries. */
  async function arena(name: string): Promise<{ root: string; outside: string }> {
    const base = join(sandbox, name.replace(/\W+/g, '-'));
    const root = join(base, 'root');
    const outside = join(base, 'outside');
    await mkdir(join(outside, 'dir'), { recursive: true });
    await chmod(join(outside, 'dir'), 0o700);
    await writeFile(join(outside, 'canary'), 'canary');
    await mkdir(root);
    return { root, outside };
  }

  /** A .deb made by binutils' ar, its data.tar.gz holding `items`. */
  async function hostileDeb(dir: string, items: Item[]): Promise<string> {
    await writeFile(join(dir, 'debian-binary'), '2.0\n');
    await writeFile(join(dir, 'control.tar.gz'), gzipSync(await tarBytes([{ name: './control', body: 'Package: evil\n' }])));
    await writeFile(join(dir, 'data.tar.gz'), gzipSync(await tarBytes(items)));
    execFileSync('ar', ['rcD', 'evil.deb', 'debian-binary', 'control.tar.gz', 'data.tar.gz'], { cwd: dir });
    return join(dir, 'evil.deb');
  }

  test.each(HOSTILE)('a hostile .deb: %s', async (what, items, expected) => {
    const { root, outside } = await arena(`deb ${what}`);
    const before = await snapshot(outside);
    const deb = await hostileDeb(join(root, '..'), items);
    expectOutcome(await outcome(extractEntries(root, debDataEntries(deb), 'evil_1.0.deb')), expected);
    expect(await snapshot(outside)).toEqual(before);
    // nothing new beside root and outside but the .deb's own members
    expect(
      (await readdir(join(root, '..'))).filter(
        (n) => !['root', 'outside', 'evil.deb', 'debian-binary', 'control.tar.gz', 'data.tar.gz'].includes(n),
      ),
    ).toEqual([]);
    if (expected === 'inside' && what === 'an absolute name') expect(await readFile(join(root, 'abs/file'), 'utf8')).toBe('x');
  });

  test.each(HOSTILE)('a hostile layer: %s', async (what, items, expected) => {
    const { root, outside } = await arena(`layer ${what}`);
    const before = await snapshot(outside);
    const extract = tar.extract();
    Readable.from([await tarBytes(items)]).pipe(extract);
    const entries = (async function* () {
      for await (const e of extract) yield { header: e.header, stream: e as unknown as NodeJS.ReadableStream };
    })();
    expectOutcome(await outcome(extractEntries(root, entries, 'sha256:feed')), expected);
    expect(await snapshot(outside)).toEqual(before);
  });
});

describe('applyLayer (into the node tree)', () => {
  let spool: Spool;
  beforeAll(async () => (spool = await Spool.create()));
  afterAll(async () => spool.dispose());

  /** A tree holding a neighbour container; the layer goes to c/rootfs. */
  async function apply(items: Item[]): Promise<FsTree> {
    const tree = new FsTree();
    await applyLayer(tree, Readable.from([await tarBytes([{ name: 'keep/me', body: 'neighbour' }])]), 'c/other', spool);
    await applyLayer(tree, Readable.from([await tarBytes([{ name: 'etc/passwd', body: 'root' }])]), 'c/rootfs', spool);
    await applyLayer(tree, Readable.from([await tarBytes(items)]), 'c/rootfs', spool);
    return tree;
  }
  const paths = (t: FsTree) => t.sorted().map(([p]) => p);

  test('an absolute name lands inside the prefix', async () => {
    const t = await apply([{ name: '/abs/file', body: 'x' }]);
    expect(paths(t)).toContain('c/rootfs/abs/file');
    expect(paths(t).filter((p) => !p.startsWith('c/rootfs') && !p.startsWith('c/other'))).toEqual(['c']);
  });

  test.each([
    ['.wh.', /whiteout \/\.wh\. names no file/],
    ['.wh..', /whiteout \/\.wh\.\. names no file/],
    ['.wh...', /whiteout \/\.wh\.\.\. names no file/],
    ['etc/.wh.', /whiteout \/etc\/\.wh\. names no file/],
    ['etc/.wh...', /names no file/],
    ['../.wh.other', /leaves its root/],
    ['../other/.wh.keep', /leaves its root/],
    ['../.wh..wh..opq', /leaves its root/],
    ['../other/.wh..wh..opq', /leaves its root/],
  ])('whiteout %s is refused and deletes nothing', async (name, message) => {
    await expect(apply([{ name, body: '' }])).rejects.toThrow(message);
  });

  test('whiteouts and opaque markers stay inside the prefix; AUFS bookkeeping is ignored', async () => {
    const t = await apply([
      { name: '.wh..wh..opq', body: '' },
      { name: '.wh..wh.plnk', body: '' },
      { name: 'new', body: 'n' },
    ]);
    expect(paths(t)).toEqual(['c', 'c/other', 'c/other/keep', 'c/other/keep/me', 'c/rootfs', 'c/rootfs/new']);
  });
});
