import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { AssembledNode } from '../assemble/node.js';
import { LkError, writeError } from '../errors.js';
import { makeScratchDir } from '../fs/scratch.js';
import { FsTree } from '../fs/tree.js';
import { VerityHasher, veritySalt, verityCmdline, type VerityTree } from '../trust/verity.js';
import type { FormatContext } from './context.js';
import { sha256File } from '../util/sha256-file.js';
import { makeSquashfs } from './squashfs.js';
import { timed, type StageClock } from '../util/stage-clock.js';

/**
 * The root image of kernel+squashfs and of --verity disks (the contract shared with the init):
 * the node's whole root as a squashfs padded to 4096-byte blocks, and with --verity its
 * dm-verity hash tree right after it in the same file, starting at block N. It is made once per
 * build and shared by every format that carries it. Such builds boot a small initrd (the init
 * alone), whose command line names the root device (`lk.root=`) and the tree (`lk.verity=`).
 */

export interface RootImageFile {
  path: string;
  /** The whole file: the padded squashfs, then the hash tree if any. */
  bytes: number;
  /** The padded squashfs alone. */
  squashfsBytes: number;
  verity?: VerityTree;
}

export class RootImage {
  private made?: Promise<RootImageFile>;
  private dir?: string;

  /** `clock` times the making as the build's "root image" stage. */
  constructor(private readonly clock?: StageClock) {}

  /** The build's root image (made by the first format that asks, with its `ctx.verity`). */
  file(ctx: FormatContext, format: string): Promise<RootImageFile> {
    this.made ??= timed(this.clock, 'root image', () => this.make(ctx, format));
    return this.made;
  }

  private async make(ctx: FormatContext, format: string): Promise<RootImageFile> {
    this.dir = await makeScratchDir('lkbuild-root-image-');
    const path = join(this.dir, 'root.img');
    const squashfsBytes = await makeSquashfs(ctx.node.tree.sorted(), ctx.sourceDateEpoch, path, `the ${format} format`);
    if (!ctx.verity) return { path, bytes: squashfsBytes, squashfsBytes };
    const hasher = new VerityHasher(veritySalt(await sha256File(path)));
    for await (const c of createReadStream(path)) hasher.update(c as Buffer);
    const verity = hasher.finish();
    try {
      await pipeline(Readable.from(verity.hashBlocks), createWriteStream(path, { flags: 'a' }));
    } catch (e) {
      throw writeError(e, 'the dm-verity hash tree to', path, 'free space there, or point LKBUILD_TMPDIR at a larger disk');
    }
    return { path, bytes: squashfsBytes + verity.hashBlocks.length * 4096, squashfsBytes, verity };
  }

  async dispose(): Promise<void> {
    await this.made?.catch(() => undefined);
    if (this.dir) await rm(this.dir, { recursive: true, force: true });
  }
}

/** Runs `fn` with the build's root image, or one made for this call when the build shares none. */
export async function withRootImage<T>(ctx: FormatContext, format: string, fn: (root: RootImageFile) => Promise<T>): Promise<T> {
  if (ctx.rootImage) return fn(await ctx.rootImage.file(ctx, format));
  const own = new RootImage();
  try {
    return await fn(await own.file(ctx, format));
  } finally {
    await own.dispose();
  }
}

/**
 * The small initrd's tree: the node's /init (same file, mode and owner), /dev/console (the
 * kernel opens it for the init before anything is mounted) and the empty mount points the init
 * uses before the root is up. Everything else is in the root image.
 */
export function initOnlyTree(node: AssembledNode, format: string): FsTree {
  const init = node.tree.get('init');
  if (init?.type !== 'file') {
    throw new LkError(
      'format',
      `the ${format} format boots the node's /init from a small initrd, and the build has no /init file`,
      'list the init image (e.g. @pkg:../images/init) under init: in the build file',
    );
  }
  const tree = new FsTree();
  for (const dir of ['dev', 'proc', 'sys', 'run', 'tmp']) tree.mkdirp(dir);
  const console = node.tree.get('dev/console');
  if (console) tree.set('dev/console', console);
  tree.set('init', init);
  return tree;
}

const ROOT_WORD = 'lk.root=';

/** The kernel command-line words that tell the init where its root is: `lk.root=` and, with verity, `lk.verity=`. */
export function rootCmdline(device: string, root: RootImageFile): string {
  return [`${ROOT_WORD}${device}`, ...(root.verity ? [verityCmdline(root.verity)] : [])].join(' ');
}

/** Whether a command line boots from a root image (names `lk.root=`), as kernel+squashfs writes it. */
export function bootsRootImage(cmdline: string): boolean {
  return cmdline.split(/\s+/).some((w) => w.startsWith(ROOT_WORD));
}

/**
 * The node as a format carrying the root image boots it: the small initrd's tree (the root
 * itself stays for what reads it, such as the UKI's os-release) and the build file's command
 * line followed by the root's words. Writers given this context (the UKI, the
 * syslinux files, the initrd) write the small boot files without knowing why.
 */
export function rootBootContext(ctx: FormatContext, format: string, device: string, root: RootImageFile): FormatContext {
  const cmdline = [ctx.node.cmdline.trim(), rootCmdline(device, root)].filter(Boolean).join(' ');
  return { ...ctx, node: { ...ctx.node, initrdTree: initOnlyTree(ctx.node, format), cmdline } };
}
