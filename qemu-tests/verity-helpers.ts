// Helpers for the verified-root boot tests: a root image made with Debian's own tools
// (mksquashfs, veritysetup), independent of the builder, and byte flips inside it.
import { copyFile, mkdir, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { markers } from './harness.js';

export const BLOCK = 4096;

/** Unpacks a (gzip or zstd compressed) newc initrd into `dir`, owners and modes kept. */
export async function unpackInitrd(initrd: string, dir: string): Promise<void> {
  const head = (await readFile(initrd)).subarray(0, 4);
  const decompress = head[0] === 0x1f && head[1] === 0x8b ? 'gzip -dc' : head.readUInt32LE(0) === 0xfd2fb528 ? 'zstd -dqc' : 'cat';
  await mkdir(dir, { recursive: true });
  await execa('sh', ['-c', `${decompress} "$1" | cpio -idm --quiet --no-absolute-filenames`, 'sh', initrd], { cwd: dir });
}

/** A gzip newc initrd holding only `init` (as /init) and the empty directories it mounts on. */
export async function smallInitrd(init: string, out: string, work: string): Promise<void> {
  const dir = join(work, 'small-initrd');
  for (const d of ['dev', 'proc', 'sys']) await mkdir(join(dir, d), { recursive: true });
  await copyFile(init, join(dir, 'init'));
  await execa('sh', ['-c', 'find . | LC_ALL=C sort | cpio -o -H newc --quiet -R 0:0 | gzip -9n > "$1"', 'sh', out], { cwd: dir });
}

export interface VerityImage {
  path: string;
  dataBlocks: number;
  rootHash: string;
  salt: string;
  /** The kernel command-line value: <data blocks>,<hash start block>,<root hash>,<salt>. */
  cmdline: string;
}

/** mksquashfs of `tree`, then veritysetup's hash tree appended right after it (no superblock). */
export async function squashfsWithVerity(tree: string, path: string): Promise<VerityImage> {
  await execa('mksquashfs', [tree, path, '-noappend', '-quiet', '-comp', 'gzip']);
  const size = (await stat(path)).size;
  if (size % BLOCK !== 0) throw new Error(`mksquashfs wrote ${size} bytes, not a multiple of ${BLOCK}`);
  const salt = '5a'.repeat(32);
  const { stdout } = await execa('veritysetup', ['format', '--no-superblock', `--hash-offset=${size}`, `--salt=${salt}`, path, path]);
  const rootHash = /^Root hash:\s+([0-9a-f]{64})$/m.exec(stdout)?.[1];
  if (!rootHash) throw new Error(`no root hash in veritysetup's output:\n${stdout}`);
  const dataBlocks = size / BLOCK;
  return { path, dataBlocks, rootHash, salt, cmdline: `${dataBlocks},${dataBlocks},${rootHash},${salt}` };
}

/** Copies `from` to `to` with the byte at `offset` inverted. */
export async function flippedCopy(from: string, to: string, offset: number): Promise<void> {
  await copyFile(from, to);
  const f = await open(to, 'r+');
  try {
    const b = Buffer.alloc(1);
    await f.read(b, 0, 1, offset);
    b[0] = b[0]! ^ 0xff;
    await f.write(b, 0, 1, offset);
  } finally {
    await f.close();
  }
}

/** The init's marker events, in order (start, root, onboot, service, ready, ...). */
export function events(output: string): string[] {
  return markers(output).map((m) => m.event);
}

/** True when nothing of the node ran: no onboot, no service, no ready. */
export function nothingRan(output: string): boolean {
  const e = events(output);
  return !e.includes('ready') && !e.includes('onboot') && !e.includes('service');
}

/** Byte offset of the first partition sgdisk lists with type code 8300 (Linux filesystem data). */
export async function linuxPartitionOffset(disk: string): Promise<number> {
  const { stdout } = await execa('sgdisk', ['-p', disk]);
  const sector = Number(/Sector size \(logical\): (\d+) bytes/.exec(stdout)?.[1] ?? 512);
  const row = stdout.split('\n').find((l) => /^\s*\d+\s+\d+\s+\d+\s+.*\s8300\s/.test(l));
  if (!row) throw new Error(`no Linux filesystem partition in ${disk}:\n${stdout}`);
  return Number(row.trim().split(/\s+/)[1]) * sector;
}

/** The 4096-byte blocks a squashfs at `offset` of `file` fills: its superblock's bytes_used, rounded up. */
export async function squashfsBlocks(file: string, offset: number): Promise<number> {
  const f = await open(file, 'r');
  try {
    const sb = Buffer.alloc(48);
    await f.read(sb, 0, 48, offset);
    if (sb.toString('latin1', 0, 4) !== 'hsqs') throw new Error(`no squashfs at byte ${offset} of ${file}`);
    return Math.ceil(Number(sb.readBigUInt64LE(40)) / BLOCK);
  } finally {
    await f.close();
  }
}
