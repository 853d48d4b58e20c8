// kernel+squashfs and --verity written from a small assembled node, read back with third-party
// tools: unsquashfs (squashfs-tools), cpio, veritysetup (cryptsetup-bin) and sgdisk (gdisk).
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { AssembledNode } from '../../src/assemble/node.js';
import { AtomicOutputs } from '../../src/formats/atomic-output.js';
import { formatWriter } from '../../src/formats/index.js';
import { RootImage } from '../../src/formats/root-image.js';
import { FsTree, bufferContent } from '../../src/fs/tree.js';

const EPOCH = 1_700_000_000; // 2023-11-14 22:13:20 UTC

/** Deterministic bytes that do not compress: a sha256 chain. */
function noise(bytes: number): Buffer {
  const parts: Buffer[] = [];
  let h = Buffer.from('seed');
  for (let n = 0; n < bytes; n += 32) parts.push((h = createHash('sha256').update(h).digest()));
  return Buffer.concat(parts).subarray(0, bytes);
}

function makeNode(withInit = true): AssembledNode {
  const tree = new FsTree();
  tree.set('dev/console', { type: 'char', mode: 0o600, uid: 0, gid: 0, devmajor: 5, devminor: 1 });
  if (withInit) tree.set('init', { type: 'file', mode: 0o755, uid: 0, gid: 0, content: bufferContent(Buffer.alloc(30_000, 0x69)) });
  tree.mkdirp('home/user', { type: 'dir', mode: 0o700, uid: 1000, gid: 100 });
  tree.set('home/user/notes', { type: 'file', mode: 0o600, uid: 1000, gid: 100, content: bufferContent('hello\n') });
  const busybox = bufferContent(Buffer.alloc(70_001, 0x62));
  tree.set('bin/busybox', { type: 'file', mode: 0o755, uid: 0, gid: 0, content: busybox });
  tree.set('bin/sh', { type: 'file', mode: 0o755, uid: 0, gid: 0, content: busybox }); // a hard link
  tree.set('bin/ls', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: 'busybox' });
  tree.set('bin/su', { type: 'file', mode: 0o4755, uid: 0, gid: 0, content: bufferContent('su\n') });
  tree.set('dev/sda', { type: 'block', mode: 0o660, uid: 0, gid: 6, devmajor: 8, devminor: 0 });
  // Incompressible data, so the squashfs spans enough blocks for a hash tree of its own.
  tree.set('var/noise', { type: 'file', mode: 0o644, uid: 0, gid: 0, content: bufferContent(noise(600_000)) });
  tree.set('etc/os-release', { type: 'file', mode: 0o644, uid: 0, gid: 0, content: bufferContent('ID=test\n') });
  const kernel = Buffer.alloc(200_003);
  for (let i = 0; i < kernel.length; i++) kernel[i] = (i * 7) & 0xff;
  return { tree, kernel: bufferContent(kernel), cmdline: 'console=ttyS0 quiet' };
}

let work = '';
let n = 0;
/** Writes `formats` as one build does: one AtomicOutputs, one shared root image. */
async function write(formats: string[], o: { verity?: boolean; epoch?: number; node?: AssembledNode } = {}): Promise<string> {
  const dir = join(work, `out-${n++}`);
  const outputs = new AtomicOutputs();
  const rootImage = new RootImage();
  try {
    const ctx = {
      node: o.node ?? makeNode(),
      base: join(dir, 'node'),
      sourceDateEpoch: o.epoch ?? EPOCH,
      outputs,
      verity: o.verity,
      rootImage,
    };
    for (const f of formats) await formatWriter(f)(ctx);
    await outputs.commit();
  } finally {
    await rootImage.dispose();
  }
  return dir;
}
const sha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');
const collapse = (s: string) => s.split('\n').map((l) => l.replace(/ +/g, ' '));

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'squashfs-formats-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('kernel+squashfs', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await write(['kernel+squashfs']);
  }, 120_000);

  test('writes exactly kernel, the small initrd, the squashfs and the cmdline', async () => {
    expect((await readdir(dir)).sort()).toEqual(['node-cmdline', 'node-initrd.img', 'node-kernel', 'node-squashfs.img']);
    expect(await readFile(join(dir, 'node-cmdline'), 'utf8')).toBe('console=ttyS0 quiet lk.root=/dev/vda');
    expect((await stat(join(dir, 'node-kernel'))).size).toBe(200_003);
  });

  test('unsquashfs lists the whole root with owners, modes, links and devices; mkfs time is SOURCE_DATE_EPOCH', async () => {
    const img = join(dir, 'node-squashfs.img');
    expect((await stat(img)).size % 4096).toBe(0);
    const list = collapse((await execa('unsquashfs', ['-lln', '-d', '', img], { env: { TZ: 'UTC' } })).stdout);
    const t = '2023-11-14 22:13';
    expect(list).toEqual(
      expect.arrayContaining([
        expect.stringMatching(new RegExp(`^drwx------ 1000/100 \\d+ ${t} /home/user$`)),
        `-rw------- 1000/100 6 ${t} /home/user/notes`,
        `-rwxr-xr-x 0/0 70001 ${t} /bin/busybox`,
        `-rwxr-xr-x 0/0 70001 ${t} /bin/sh`,
        `lrwxrwxrwx 0/0 7 ${t} /bin/ls -> busybox`,
        `-rwsr-xr-x 0/0 3 ${t} /bin/su`,
        `brw-rw---- 0/6 8, 0 ${t} /dev/sda`,
        `crw------- 0/0 5, 1 ${t} /dev/console`,
        `-rwxr-xr-x 0/0 30000 ${t} /init`,
      ]),
    );
    for (const line of list.filter(Boolean)) expect(line).toContain(` ${t} `); // every file's time, the root's too
    const s = (await execa('unsquashfs', ['-s', img], { env: { TZ: 'UTC' } })).stdout;
    expect(s).toMatch(/Creation or last append time Tue Nov 14 22:13:20 2023/);
    expect(s).toMatch(/Compression gzip/);
    expect(s).toMatch(/Number of inodes 16\b/); // 17 paths with the root, /bin/sh a hard link of /bin/busybox
  });

  test('the initrd holds the init alone, with the console and empty mount points', async () => {
    const cpio = gunzipSync(await readFile(join(dir, 'node-initrd.img')));
    const r = await execa('cpio', ['-itv', '--numeric-uid-gid', '--quiet'], { input: cpio });
    const names = r.stdout.split('\n').map((l) => l.split(/\s+/).pop());
    expect(names).toEqual(['dev', 'dev/console', 'init', 'proc', 'run', 'sys', 'tmp']);
    expect(r.stdout).toMatch(/^-rwxr-xr-x\s+1\s+0\s+0\s+30000 .* init$/m);
  });

  test('a second build is byte-identical; another SOURCE_DATE_EPOCH changes the squashfs', async () => {
    const again = await write(['kernel+squashfs']);
    for (const f of ['node-kernel', 'node-initrd.img', 'node-squashfs.img', 'node-cmdline'])
      expect(await sha(join(again, f)), f).toBe(await sha(join(dir, f)));
    const other = await write(['kernel+squashfs'], { epoch: EPOCH + 3600 });
    expect(await sha(join(other, 'node-squashfs.img'))).not.toBe(await sha(join(dir, 'node-squashfs.img')));
  }, 120_000);

  test('a node without /init is refused, naming the format', async () => {
    const node = makeNode(false);
    await expect(write(['kernel+squashfs'], { node })).rejects.toThrow(/kernel\+squashfs format .* no \/init/);
  });
});

/** `lk.verity=N,START,ROOT,SALT` of a command line. */
function verityParams(cmdline: string) {
  const m = /lk\.verity=(\d+),(\d+),([0-9a-f]{64}),([0-9a-f]{64})/.exec(cmdline);
  if (!m) throw new Error(`no lk.verity= in ${cmdline}`);
  return { blocks: Number(m[1]), start: Number(m[2]), root: m[3]!, salt: m[4]! };
}
const verify = (path: string, p: ReturnType<typeof verityParams>) =>
  execa(
    'veritysetup',
    [
      'verify',
      path,
      path,
      p.root,
      `--hash-offset=${p.start * 4096}`,
      '--no-superblock',
      '--salt',
      p.salt,
      '--data-blocks',
      String(p.blocks),
    ],
    { reject: false, all: true },
  );

describe('--verity', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await write(['kernel+squashfs', 'raw-efi'], { verity: true });
  }, 180_000);

  test('kernel+squashfs: the squashfs is followed by its hash tree, which veritysetup accepts; a flipped byte is refused', async () => {
    const cmdline = await readFile(join(dir, 'node-cmdline'), 'utf8');
    expect(cmdline).toMatch(/^console=ttyS0 quiet lk\.root=\/dev\/vda lk\.verity=\d+,\d+,[0-9a-f]{64},[0-9a-f]{64}$/);
    const p = verityParams(cmdline);
    expect(p.start).toBe(p.blocks);
    const img = join(dir, 'node-squashfs.img');
    const size = (await stat(img)).size;
    expect(size).toBeGreaterThan(p.blocks * 4096); // the tree follows the data
    const r = await verify(img, p);
    expect(r.exitCode, r.all).toBe(0);
    // unsquashfs reads the image as it is: the tree after it does not disturb the file system.
    expect((await execa('unsquashfs', ['-l', img])).stdout).toMatch(/squashfs-root\/home\/user\/notes/);
    const bad = join(work, 'flipped.img');
    const bytes = await readFile(img);
    bytes[1000] ^= 0x10;
    await writeFile(bad, bytes);
    expect((await verify(bad, p)).exitCode).not.toBe(0);
  });

  test('raw-efi: a second partition holds exactly the root image, its PARTUUID the one on the UKI command line', async () => {
    const disk = join(dir, 'node-efi.img');
    const bytes = await readFile(disk);
    // The UKI's .cmdline section is stored as it is inside the FAT file system.
    const at = bytes.indexOf('lk.root=PARTUUID=');
    expect(at).toBeGreaterThan(0);
    const cmdline = bytes.subarray(at, bytes.indexOf(0, at)).toString('latin1');
    const uuid = /^lk\.root=PARTUUID=([0-9a-f-]{36}) /.exec(cmdline)?.[1];
    expect(uuid, cmdline).toBeDefined();
    expect(verityParams(cmdline)).toEqual(verityParams(await readFile(join(dir, 'node-cmdline'), 'utf8')));

    const info = (await execa('sgdisk', ['-i', '2', disk])).stdout;
    expect(info).toMatch(new RegExp(`Partition unique GUID: ${uuid!.toUpperCase()}`));
    expect(info).toMatch(/Partition GUID code: 0FC63DAF-8483-4772-8E79-3D69D8477DE4/);
    expect(info).toMatch(/Partition name: 'lkbuild root'/);
    const first = Number(/First sector: (\d+)/.exec(info)?.[1]);
    const sectors = Number(/Partition size: (\d+) sectors/.exec(info)?.[1]);
    const image = await readFile(join(dir, 'node-squashfs.img'));
    expect(sectors * 512).toBe(image.length);
    expect(first % 2048).toBe(0); // MiB-aligned
    expect(bytes.subarray(first * 512, first * 512 + image.length).equals(image)).toBe(true);
    expect((await execa('sgdisk', ['-v', disk])).stdout).toMatch(/No problems found/);
    expect(bytes.length % (1024 * 1024)).toBe(0);
  });

  test('--verity builds are byte-identical', async () => {
    const again = await write(['kernel+squashfs', 'raw-efi'], { verity: true });
    for (const f of ['node-initrd.img', 'node-squashfs.img', 'node-cmdline', 'node-efi.img'])
      expect(await sha(join(again, f)), f).toBe(await sha(join(dir, f)));
  }, 180_000);
});
