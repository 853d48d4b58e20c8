// `lkbuild build` through the real CLI against the failures a CI machine meets: two builds
// sharing one cold cache, and a disk that fills up under the outputs or under the cache.
// The build file names tiny local recipes, so no kernel is compiled.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const cli = resolve(import.meta.dirname, '../../bin/lkbuild.js');
let work = '';
let buildFile = '';
const mounts: string[] = [];

/** A tmpfs of `size` bytes: a disk that is full as soon as more is written. */
async function smallDisk(name: string, size: number): Promise<string> {
  const dir = join(work, name);
  await mkdir(dir);
  await execa('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  mounts.push(dir);
  return dir;
}

function lkbuild(args: string[], cache: string, env: Record<string, string> = {}) {
  return execa('node', [cli, ...args], { reject: false, env: { LKBUILD_CACHE: cache, SOURCE_DATE_EPOCH: '0', ...env } });
}

/** Every file below dir, relative, skipping nothing: leftovers must show up. */
async function listAll(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true })).sort();
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lk-build-faults-'));
  // A stand-in kernel and a payload that does not compress, so the initrd is about 1 MiB.
  await mkdir(join(work, 'kernel'));
  await writeFile(join(work, 'kernel/build.yml'), 'name: fake-kernel\nfiles:\n  - {path: /kernel, contents: "not a real kernel\\n"}\n');
  await mkdir(join(work, 'payload'));
  await writeFile(join(work, 'payload/blob.bin'), randomBytes(1 << 20));
  await writeFile(join(work, 'payload/build.yml'), 'name: payload\nfiles:\n  - {path: /blob.bin, source: blob.bin}\nconfig: {Cmd: ["/blob.bin"]}\n');
  buildFile = join(work, 'node.yml');
  await writeFile(
    buildFile,
    ['kernel:', '  image: "@pkg:./kernel"', 'init:', '  - "@pkg:./payload"', 'onboot:', '  - name: one', '    image: "@pkg:./payload"', ''].join('\n'),
  );
});

afterAll(async () => {
  for (const m of mounts.reverse()) await execa('umount', [m], { reject: false });
  await rm(work, { recursive: true, force: true });
});

describe('lkbuild build, failures of the machine around it', () => {
  test('two builds sharing one cold cache both succeed, byte for byte alike, with one copy of each image', async () => {
    const cache = join(work, 'shared-cache');
    const [a, b] = await Promise.all([
      lkbuild(['build', '-o', join(work, 'out-a'), buildFile], cache),
      lkbuild(['build', '-o', join(work, 'out-b'), buildFile], cache),
    ]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(b.exitCode, b.stderr).toBe(0);
    for (const f of ['node-kernel', 'node-initrd.img', 'node-cmdline']) {
      expect((await readFile(join(work, 'out-a', f))).equals(await readFile(join(work, 'out-b', f))), f).toBe(true);
    }
    const index = JSON.parse(await readFile(join(cache, 'index.json'), 'utf8')) as { manifests: Array<{ annotations?: Record<string, string> }> };
    const refs = index.manifests.map((m) => m.annotations?.['org.opencontainers.image.ref.name']);
    expect(refs.filter((r) => r?.startsWith('lkbuild/payload:'))).toHaveLength(1);
    expect(refs.filter((r) => r?.startsWith('lkbuild/fake-kernel:'))).toHaveLength(1);
    expect((await listAll(cache)).filter((p) => /\.tmp|partial/.test(p))).toEqual([]);
  });

  test('a full output disk is a clear error and leaves no partial output', async () => {
    const out = await smallDisk('full-out', 512 << 10);
    const r = await lkbuild(['build', '-o', out, buildFile], join(work, 'shared-cache'));
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain(`lkbuild: error: cannot write the output ${out}/node-initrd.img: no space left on device`);
    expect(await listAll(out)).toEqual([]);
  });

  test('a full cache disk is a clear error, leaves no temporary blobs, and the cache stays usable', async () => {
    const cache = await smallDisk('full-cache', 768 << 10);
    const r = await lkbuild(['build', '-o', join(work, 'out-c'), buildFile], cache);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/^lkbuild: error: image @pkg:\S+ \((init|kernel)[^)]*\): cannot write /m);
    expect(r.stderr).toContain(`cannot write to the cache ${cache}: no space left on device`);
    expect(r.stderr).toContain('hint: free space there, or point LKBUILD_CACHE at a larger disk');
    expect((await listAll(cache)).filter((p) => /\.tmp|partial/.test(p))).toEqual([]);
    await expect(readdir(join(work, 'out-c'))).rejects.toThrow(/ENOENT/);
    const ls = await lkbuild(['cache', 'ls'], cache);
    expect(ls.exitCode, ls.stderr).toBe(0);
  });

  test('a full disk under the scratch files is a clear error and they are removed', async () => {
    // Layers unpack into the cache (already there from the first test): what fills this disk
    // is the compressed root staged before it becomes the output.
    const scratch = await smallDisk('full-tmp', 256 << 10);
    const r = await lkbuild(['build', '-o', join(work, 'out-d'), buildFile], join(work, 'shared-cache'), { LKBUILD_TMPDIR: scratch });
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(new RegExp(`lkbuild: error: cannot write .* ${scratch}/lkbuild-\\S+: no space left on device`));
    expect(r.stderr).toContain('LKBUILD_TMPDIR');
    expect(await listAll(scratch)).toEqual([]);
    await expect(readdir(join(work, 'out-d'))).rejects.toThrow(/ENOENT/);
  });

  test('a cache disk that fills while layers are unpacked into it: a clear error, no temporary files left', async () => {
    // The images fit; their unpacked copies (about 1 MiB of random bytes) do not.
    const source = join(work, 'shared-cache');
    await rm(join(source, 'unpacked'), { recursive: true, force: true });
    const used = Number((await execa('du', ['-sb', source])).stdout.split('\t')[0]);
    const cache = await smallDisk('full-unpack', used + (256 << 10));
    await execa('cp', ['-a', `${source}/.`, cache]);
    const r = await lkbuild(['build', '-o', join(work, 'out-e'), buildFile], cache);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/lkbuild: error: image lkbuild\/payload:\S+, layer sha256:[0-9a-f]{64}: cannot write image contents to the spool file .*\/unpacked\/sha256\/\.tmp-\S+: no space left on device/);
    expect(r.stderr).toContain('hint: free space there, or point LKBUILD_CACHE at a larger disk');
    expect((await listAll(cache)).filter((p) => /\.tmp|partial/.test(p))).toEqual([]);
    await expect(readdir(join(work, 'out-e'))).rejects.toThrow(/ENOENT/);
  });
});
