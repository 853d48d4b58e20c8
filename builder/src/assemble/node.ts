import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { LkError } from '../errors.js';
import type { BuildSpec, FileSpec, ImageSpec } from '../config/index.js';
import { buildSpecToYaml, containerIds, replaceImageRefs } from '../config/index.js';
import { resolveId } from '../config/ids.js';
import { bundleConfig, configJson } from '../config/runtime-config.js';
import { applyLayer } from '../fs/apply-layer.js';
import type { Spool } from '../fs/spool.js';
import { FsTree, bufferContent, type Content } from '../fs/tree.js';
import type { StoredImage } from '../oci/image-store.js';
import type { UnpackedLayers } from '../oci/unpacked-layers.js';
import { addImage } from './image-tree.js';
import { addVolumes, bindVolumes } from './volumes.js';
import { timed, type StageClock } from '../util/stage-clock.js';

export interface AssembledNode {
  /** The node's root filesystem: init images, bundles, files. */
  tree: FsTree;
  /** What the initrd holds when it is not the whole root (formats with a root image: the init alone). */
  initrdTree?: FsTree;
  kernel?: Content;
  cmdline: string;
  /** CPU microcode to prepend to the initrd as an uncompressed cpio, if the kernel image has it. */
  ucode?: Content;
}

type Kind = 'onboot' | 'service' | 'onshutdown';

export interface AssembleContext {
  spec: BuildSpec;
  images: Map<string, StoredImage>;
  /** Layers as they are applied, from the cache's unpacked copies where it has them. */
  layers: UnpackedLayers;
  /** Where other file data goes (the kernel image's modules tar). */
  spool: Spool;
  /** Times the unpacking of layers ("unpack") apart from the rest of the assembly. */
  clock?: StageClock;
}

/** Lays out the whole node as LinuxKit does: init images at /, one bundle per container, then files. */
export async function assembleNode(ctx: AssembleContext): Promise<AssembledNode> {
  const { spec } = ctx;
  const tree = new FsTree();
  // The kernel opens /dev/console for the init before anything is mounted; without the node
  // in the initramfs the init's first lines are lost.
  tree.set('dev/console', { type: 'char', mode: 0o600, uid: 0, gid: 0, devmajor: 5, devminor: 1 });
  const kernel = spec.kernel ? await kernelParts(ctx, tree) : undefined;
  for (const ref of spec.init) await addImage(tree, ctx.layers, image(ctx, ref), '', ctx.clock);
  await addVolumes(tree, spec.volumes, (ref) => image(ctx, ref), ctx.layers, ctx.clock);
  const shared = new Map<string, Content>(); // identical files of read-only bundles, by digest
  await addBundles(ctx, tree, spec.onboot, 'onboot', (i, name) => `containers/onboot/${seq(i)}-${name}`, shared);
  await addBundles(ctx, tree, spec.services, 'service', (_i, name) => `containers/services/${name}`, shared);
  await addBundles(ctx, tree, spec.onshutdown, 'onshutdown', (i, name) => `containers/onshutdown/${seq(i)}-${name}`, shared);
  // Metadata files describe the node by the images it was built from, not by build-host paths.
  const described = replaceImageRefs(spec, (ref) => ctx.images.get(ref)?.refName ?? ref);
  const ids = containerIds(spec);
  for (const file of spec.files) await addFile(tree, file, described, ids);
  return { tree, kernel: kernel?.binary, ucode: kernel?.ucode, cmdline: spec.kernel?.cmdline ?? '' };
}

function seq(i: number): string {
  return String(i).padStart(3, '0');
}

function image(ctx: AssembleContext, ref: string): StoredImage {
  const found = ctx.images.get(ref);
  if (!found) throw new Error(`internal: image ${ref} was not resolved`);
  return found;
}

/** The kernel image holds the kernel binary, and optionally modules (a tar) and microcode. */
async function kernelParts(ctx: AssembleContext, nodeTree: FsTree): Promise<{ binary: Content; ucode?: Content }> {
  const k = ctx.spec.kernel!;
  const kernelTree = new FsTree();
  await addImage(kernelTree, ctx.layers, image(ctx, k.image), '', ctx.clock);
  const binary = kernelTree.get(k.binary);
  if (binary?.type !== 'file' || !binary.content) {
    throw new LkError(
      'image',
      `kernel image ${k.image} has no file /${k.binary}`,
      "set kernel.binary to the kernel's path inside the image",
    );
  }
  const modules = k.tar === 'none' ? undefined : kernelTree.get(k.tar);
  const content = modules?.type === 'file' ? modules.content : undefined;
  if (content) await timed(ctx.clock, 'unpack', () => applyLayer(nodeTree, content.open(), '', ctx.spool), `${k.image} /${k.tar}`);
  const ucode = k.ucode ? kernelTree.get(k.ucode)?.content : undefined;
  if (k.ucode && !ucode) throw new LkError('image', `kernel image ${k.image} has no microcode file /${k.ucode}`);
  return { binary: binary.content, ucode };
}

/**
 * Read-only bundles share identical files (same data, mode and owner): the initrd then holds one
 * busybox for every busybox-based image, as hard links. A container whose root is writable keeps
 * its own copies, so it can never change another container's files.
 */
function shareReadonlyFiles(tree: FsTree, rootfs: string, shared: Map<string, Content>): void {
  const prefix = `${rootfs}/`;
  for (const [path, e] of tree.sorted()) {
    if (!path.startsWith(prefix) || e.type !== 'file' || !e.content?.digest) continue;
    const key = `${e.content.digest}:${e.content.size}`;
    const first = shared.get(key);
    if (first) e.content = first;
    else shared.set(key, e.content);
  }
}

async function addBundles(
  ctx: AssembleContext,
  tree: FsTree,
  list: ImageSpec[],
  kind: Kind,
  dirFor: (i: number, name: string) => string,
  shared: Map<string, Content>,
): Promise<void> {
  const ids = containerIds(ctx.spec);
  const volumes = new Map(ctx.spec.volumes.map((v) => [v.name, v]));
  for (const [i, spec] of list.entries()) {
    const img = image(ctx, spec.image);
    const dir = dirFor(i, spec.name);
    const bundle = bundleConfig(spec, img.config.config ?? {}, kind, { ids });
    const { runtime } = bundle;
    const config = bindVolumes(bundle.config, volumes, spec.name);
    await addImage(tree, ctx.layers, img, `${dir}/rootfs`, ctx.clock);
    if ((config as { root?: { readonly?: boolean } }).root?.readonly) shareReadonlyFiles(tree, `${dir}/rootfs`, shared);
    tree.set(`${dir}/config.json`, { type: 'file', mode: 0o644, uid: 0, gid: 0, content: bufferContent(configJson(config)) });
    tree.set(`${dir}/runtime.json`, {
      type: 'file',
      mode: 0o644,
      uid: 0,
      gid: 0,
      content: bufferContent(JSON.stringify(runtime, null, 2) + '\n'),
    });
  }
}

async function addFile(tree: FsTree, f: FileSpec, spec: BuildSpec, ids: ReadonlyMap<string, number>): Promise<void> {
  const mode = f.mode !== undefined ? parseInt(String(f.mode), 8) : f.directory ? 0o755 : 0o600;
  const owner = { uid: fileId(f, 'uid', ids), gid: fileId(f, 'gid', ids) };
  if (f.directory) {
    tree.mkdirp(f.path, { type: 'dir', mode, ...owner });
    return;
  }
  if (f.symlink !== undefined) {
    tree.set(f.path, { type: 'symlink', mode: 0o777, ...owner, linkname: f.symlink });
    return;
  }
  let content: Content | undefined;
  if (f.contents !== undefined) content = bufferContent(f.contents);
  else if (f.metadata !== undefined)
    content = bufferContent(f.metadata === 'json' ? JSON.stringify(spec, null, 2) + '\n' : buildSpecToYaml(spec));
  else if (f.source !== undefined) content = await fileContent(f.source, f.optional === true);
  if (content) tree.set(f.path, { type: 'file', mode, ...owner, content });
}

async function fileContent(path: string, optional: boolean): Promise<Content | undefined> {
  const st = await stat(path).catch(() => undefined);
  if (!st) {
    if (optional) return undefined;
    throw new LkError('config', `files: source ${path} does not exist`, 'set optional: true if the file may be absent');
  }
  return { size: st.size, open: () => createReadStream(path) };
}

/** loadBuildFiles has turned names into numbers already; a spec built another way gets them resolved here. */
function fileId(f: FileSpec, what: 'uid' | 'gid', ids: ReadonlyMap<string, number>): number {
  const id = resolveId(f[what] ?? 0, ids, what);
  if (!id.ok) throw new LkError('config', `files: ${f.path}: ${id.message}`, id.hint);
  return id.value;
}
