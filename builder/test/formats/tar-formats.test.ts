// The tar output formats (tar, tar-kernel-initrd, gcp) written from a small assembled node and
// read back with the system's GNU tar, cpio and gzip.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AtomicOutputs } from '../../src/formats/atomic-output.js';
import { formatNames, formatWriter } from '../../src/formats/index.js';
import { FsTree, bufferContent } from '../../src/fs/tree.js';
import type { AssembledNode } from '../../src/assemble/node.js';

const EPOCH = 1_700_000_000; // 2023-11-14 22:13:20 UTC
const longDir = `usr/share/${'d'.repeat(60)}/${'e'.repeat(60)}`; // > 100 bytes with its file: ustar prefix split
const veryLong = `opt/${'x'.repeat(120)}/${'y'.repeat(120)}/z.txt`; // > 255 bytes: needs a pax path

function makeNode(ucode = false): AssembledNode {
  const tree = new FsTree();
  tree.mkdirp('bin');
  tree.mkdirp('tmp', { type: 'dir', mode: 0o1777, uid: 0, gid: 0 });
  tree.mkdirp('home/user', { type: 'dir', mode: 0o700, uid: 1000, gid: 100 });
  const busybox = bufferContent(Buffer.alloc(70_001, 0x62));
  tree.set('bin/busybox', { type: 'file', mode: 0o755, uid: 0, gid: 0, content: busybox });
  // A hard link as the layer code keeps it: a second entry sharing the first one's data.
  tree.set('bin/sh', { type: 'file', mode: 0o755, uid: 0, gid: 0, content: busybox });
  tree.set('bin/ls', { type: 'symlink', mode: 0o777, uid: 0, gid: 0, linkname: 'busybox' });
  tree.set('bin/su', { type: 'file', mode: 0o4755, uid: 0, gid: 0, content: bufferContent('su\n') });
  tree.set('dev/console', { type: 'char', mode: 0o600, uid: 0, gid: 5, devmajor: 5, devminor: 1 });
  tree.set('dev/sda', { type: 'block', mode: 0o660, uid: 0, gid: 6, devmajor: 8, devminor: 0 });
  tree.set('run/fifo', { type: 'fifo', mode: 0o644, uid: 0, gid: 0 });
  tree.set('home/user/notes', { type: 'file', mode: 0o600, uid: 1000, gid: 100, content: bufferContent('hello\n') });
  tree.set('etc/empty', { type: 'file', mode: 0o000, uid: 0, gid: 0, content: bufferContent('') });
  tree.set(`${longDir}/file.txt`, { type: 'file', mode: 0o644, uid: 0, gid: 0, content: bufferContent('long\n') });
  tree.set(veryLong, { type: 'file', mode: 0o644, uid: 0, gid: 0, content: bufferContent('very long\n') });
  const kernel = Buffer.alloc(200_003);
  for (let i = 0; i < kernel.length; i++) kernel[i] = (i * 7) & 0xff;
  return {
    tree,
    kernel: bufferContent(kernel),
    cmdline: 'console=ttyS0 quiet',
    ...(ucode ? { ucode: bufferContent(Buffer.alloc(1024, 0x75)) } : {}),
  } as unknown as AssembledNode;
}

let work = '';
let n = 0;
async function write(format: string, node: AssembledNode, epoch = EPOCH): Promise<string> {
  const dir = join(work, `out-${n++}`);
  const outputs = new AtomicOutputs();
  await formatWriter(format)({ node, base: join(dir, 'node'), sourceDateEpoch: epoch, outputs });
  await outputs.commit();
  return dir;
}
const sha = async (p: string) =>
  createHash('sha256')
    .update(await readFile(p))
    .digest('hex');
/** `tar -tv` lines with runs of spaces collapsed (GNU tar widens its columns as it goes). */
const tarTv = async (p: string) =>
  (await execa('tar', ['--numeric-owner', '--full-time', '-tvf', p], { env: { TZ: 'UTC', LC_ALL: 'C' } })).stdout
    .split('\n')
    .map((l) => l.replace(/ +/g, ' '));
const tarT = async (p: string) => (await execa('tar', ['-tf', p])).stdout.split('\n');

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tar-formats-'));
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('tar formats', () => {
  test('registered', () => {
    expect(formatNames).toEqual(expect.arrayContaining(['gcp', 'tar-kernel-initrd', 'tar']));
  });
});

describe('tar', () => {
  test('the root filesystem with types, modes, owners, links; reproducible', async () => {
    const node = makeNode();
    const a = join(await write('tar', node), 'node.tar');
    const b = join(await write('tar', node), 'node.tar');
    const c = join(await write('tar', node, EPOCH + 1), 'node.tar');
    expect(await sha(a)).toBe(await sha(b));
    expect(await sha(a)).not.toBe(await sha(c));

    const lines = await tarTv(a);
    const when = '2023-11-14 22:13:20';
    expect(lines).toEqual(
      expect.arrayContaining([
        `drwxr-xr-x 0/0 0 ${when} bin/`,
        `-rwxr-xr-x 0/0 70001 ${when} bin/busybox`,
        `lrwxrwxrwx 0/0 0 ${when} bin/ls -> busybox`,
        `hrwxr-xr-x 0/0 0 ${when} bin/sh link to bin/busybox`,
        `-rwsr-xr-x 0/0 3 ${when} bin/su`,
        `crw------- 0/5 5,1 ${when} dev/console`,
        `brw-rw---- 0/6 8,0 ${when} dev/sda`,
        `---------- 0/0 0 ${when} etc/empty`,
        `drwx------ 1000/100 0 ${when} home/user/`,
        `-rw------- 1000/100 6 ${when} home/user/notes`,
        `prw-r--r-- 0/0 0 ${when} run/fifo`,
        `drwxrwxrwt 0/0 0 ${when} tmp/`,
        `-rw-r--r-- 0/0 5 ${when} ${longDir}/file.txt`,
        `-rw-r--r-- 0/0 10 ${when} ${veryLong}`,
      ]),
    );
    // Parents before children, in the tree's order, and nothing else.
    const names = (await tarT(a)).map((s) => s.replace(/\/$/, ''));
    expect(names).toEqual(node.tree.sorted().map(([p]) => p));

    // Extracted, the data is intact and the hard link is one inode.
    const x = join(work, 'x-tar');
    await execa('mkdir', ['-p', x]);
    await execa('tar', ['-xf', a, '-C', x]);
    expect(await readFile(join(x, veryLong), 'utf8')).toBe('very long\n');
    expect((await stat(join(x, 'bin/sh'))).ino).toBe((await stat(join(x, 'bin/busybox'))).ino);
    expect((await stat(join(x, 'bin/sh'))).size).toBe(70001);
  });

  test('the same file set as the initrd', async () => {
    const node = makeNode();
    const tarNames = (await tarT(join(await write('tar', node), 'node.tar'))).map((s) => s.replace(/\/$/, ''));
    const initrd = join(await write('kernel+initrd', node), 'node-initrd.img');
    const { stdout } = await execa('sh', ['-c', `gzip -dc '${initrd}' | cpio -it --quiet`]);
    const cpioNames = stdout.split('\n');
    expect(cpioNames).toContain('dev/console');
    expect(cpioNames).toContain(veryLong);
    expect([...tarNames].sort()).toEqual([...cpioNames].sort());
  });

  test('a file whose content does not match its declared size fails the output', async () => {
    const node = makeNode();
    node.tree.set('bin/liar', { type: 'file', mode: 0o644, uid: 0, gid: 0, content: { size: 10, open: bufferContent('short').open } });
    await expect(write('tar', node)).rejects.toThrow(
      '/bin/liar changed size while it was archived: 10 bytes when the build began, 5 bytes when read',
    );
  });
});

describe('tar-kernel-initrd', () => {
  test("LinuxKit's layout: kernel, initrd.img, cmdline; reproducible; the initrd is the kernel+initrd one", async () => {
    const node = makeNode();
    const dir = await write('tar-kernel-initrd', node);
    const a = join(dir, 'node-initrd.tar');
    const b = join(await write('tar-kernel-initrd', node), 'node-initrd.tar');
    const c = join(await write('tar-kernel-initrd', node, 0), 'node-initrd.tar');
    expect(await sha(a)).toBe(await sha(b));
    expect(await sha(a)).not.toBe(await sha(c));

    const ki = await write('kernel+initrd', node);
    const initrdSize = (await stat(join(ki, 'node-initrd.img'))).size;
    const when = '2023-11-14 22:13:20';
    expect(await tarTv(a)).toEqual([
      `-rw-r--r-- 0/0 200003 ${when} kernel`,
      `-rw-r--r-- 0/0 ${initrdSize} ${when} initrd.img`,
      `-rw-r--r-- 0/0 19 ${when} cmdline`,
    ]);
    expect((await tarTv(c))[0]).toBe('-rw-r--r-- 0/0 200003 1970-01-01 00:00:00 kernel');
    const x = join(work, 'x-tki');
    await execa('mkdir', ['-p', x]);
    await execa('tar', ['-xf', a, '-C', x]);
    for (const f of ['kernel', 'cmdline']) expect(await sha(join(x, f))).toBe(await sha(join(ki, `node-${f}`)));
    expect(await sha(join(x, 'initrd.img'))).toBe(await sha(join(ki, 'node-initrd.img')));
  });

  test('with microcode: ucode.cpio after cmdline, and initrd.img without it', async () => {
    const node = makeNode(true);
    const tarFile = join(await write('tar-kernel-initrd', node), 'node-initrd.tar');
    expect(await tarT(tarFile)).toEqual(['kernel', 'initrd.img', 'cmdline', 'ucode.cpio']);
    const x = join(work, 'x-tki-ucode');
    await execa('mkdir', ['-p', x]);
    await execa('tar', ['-xf', tarFile, '-C', x]);
    expect(await readFile(join(x, 'ucode.cpio'))).toEqual(Buffer.alloc(1024, 0x75));
    const initrd = await readFile(join(x, 'initrd.img'));
    expect([initrd[0], initrd[1]]).toEqual([0x1f, 0x8b]); // gzip from the first byte: no cpio in front
  });

  test('needs a kernel', async () => {
    const node = { ...makeNode(), kernel: undefined } as unknown as AssembledNode;
    await expect(write('tar-kernel-initrd', node)).rejects.toThrow(/needs a kernel/);
  });
});

describe('gcp', () => {
  test('a gzip with no name and mtime 0 around a tar holding only disk.raw, the raw-efi disk; reproducible', async () => {
    const node = makeNode();
    const a = join(await write('gcp', node), 'node.img.tar.gz');
    const b = join(await write('gcp', node), 'node.img.tar.gz');
    const c = join(await write('gcp', node, EPOCH + 60), 'node.img.tar.gz');
    expect(await sha(a)).toBe(await sha(b));
    expect(await sha(a)).not.toBe(await sha(c));

    const gz = await readFile(a);
    // ID1 ID2, deflate, FLG 0 (no name, no comment, no extra), MTIME 0, XFL 2 (level 9), OS 3 (Unix).
    expect([...gz.subarray(0, 10)]).toEqual([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3]);

    // GCE imports disks of whole GiB: the raw-efi layout stretched to 1 GiB, the ESP unchanged.
    const GiB = 1 << 30;
    const raw = join(await write('raw-efi', node), 'node-efi.img');
    const rawSize = (await stat(raw)).size;
    expect(await tarTv(a)).toEqual([`-rw-r--r-- 0/0 ${GiB} 2023-11-14 22:13:20 disk.raw`]);
    const dir = await mkdtemp(join(tmpdir(), 'lk-gcp-'));
    await execa('tar', ['-xzf', a, '-C', dir]);
    const disk = join(dir, 'disk.raw');
    expect((await stat(disk)).size).toBe(GiB);
    expect((await execa('sgdisk', ['-v', disk])).stdout).toContain('No problems found');
    const esp = (path: string) =>
      execa('sh', ['-c', `dd if='${path}' bs=1M skip=1 count=${rawSize / (1 << 20) - 2} status=none | sha256sum`]);
    expect((await esp(disk)).stdout).toBe((await esp(raw)).stdout);
    await rm(dir, { recursive: true, force: true });
    // The tar is exactly header + data + two zero blocks (no further padding).
    const { stdout: tarBytes } = await execa('sh', ['-c', `gzip -dc '${a}' | wc -c`]);
    expect(Number(tarBytes)).toBe(512 + GiB + 1024);
  });
});
