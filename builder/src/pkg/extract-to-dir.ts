import { createWriteStream } from 'node:fs';
import { chmod, link, lstat, mkdir, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Header } from 'tar-stream';
import { isLkError, LkError } from '../errors.js';
import { normalizePath, parentOf } from '../fs/tree.js';

type Entry = { header: Header; stream: NodeJS.ReadableStream };

/**
 * Unpacks tar entries (a Debian package's data.tar) into a directory as an unprivileged user:
 * owners are not kept (layers are written as 0:0), device nodes are skipped, and no path may
 * leave `root` through '..' or a symlink (an existing one in its way, or one at its own place).
 * Whiteout names are ordinary names here. A problem is an LkError naming the archive and path.
 */
export async function extractEntries(root: string, entries: AsyncIterable<Entry>, origin: string): Promise<void> {
  for await (const { header: h, stream } of entries) {
    const rel = normalizePath(h.name);
    if (rel === '') {
      drain(stream);
      continue;
    }
    try {
      await extractOne(root, rel, h, stream, origin);
    } catch (e) {
      if (isLkError(e)) throw e;
      throw new LkError('layer', `${origin}: cannot write "/${rel}": ${(e as Error).message}`);
    }
  }
}

async function extractOne(root: string, rel: string, h: Header, stream: NodeJS.ReadableStream, origin: string): Promise<void> {
  await assertInside(root, rel, origin);
  const dest = join(root, rel);
  const mode = (h.mode ?? 0o644) & 0o7777;
  switch (h.type) {
    case 'directory':
      drain(stream);
      // chmod follows symlinks: a directory entry must not land on one the archive made.
      if ((await lstat(dest).catch(() => undefined))?.isSymbolicLink()) {
        throw new LkError('layer', `${origin}: directory "/${rel}" is already a symlink`, 'the archive tries to write outside its root');
      }
      await mkdir(dest, { recursive: true });
      await chmod(dest, mode | 0o700);
      break;
    case 'file':
    case 'contiguous-file':
      await mkdir(join(root, parentOf(rel)), { recursive: true });
      await rm(dest, { force: true });
      await pipeline(stream, createWriteStream(dest, { mode: 0o600, flags: 'wx' }));
      await chmod(dest, mode);
      break;
    case 'symlink':
      drain(stream);
      await mkdir(join(root, parentOf(rel)), { recursive: true });
      await rm(dest, { force: true });
      await symlink(h.linkname ?? '', dest);
      break;
    case 'link': {
      drain(stream);
      const target = normalizePath(h.linkname ?? '');
      await assertInside(root, target, origin);
      await mkdir(join(root, parentOf(rel)), { recursive: true });
      await rm(dest, { force: true });
      await link(join(root, target), dest);
      break;
    }
    default:
      drain(stream); // device nodes and fifos need privileges; the kernel's devtmpfs provides them at boot
  }
}

function drain(stream: NodeJS.ReadableStream): void {
  stream.resume();
}

async function assertInside(root: string, rel: string, origin: string): Promise<void> {
  const parts = rel.split('/');
  for (let i = 1; i < parts.length; i++) {
    const st = await lstat(join(root, ...parts.slice(0, i))).catch(() => undefined);
    if (st?.isSymbolicLink()) {
      throw new LkError(
        'layer',
        `${origin}: "/${rel}" goes through the symlink "/${parts.slice(0, i).join('/')}"`,
        'the archive tries to write outside its root',
      );
    }
  }
}
