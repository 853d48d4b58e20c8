import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { AssembledNode } from '../assemble/node.js';
import { imageUsers } from '../assemble/resolve-images.js';
import type { BuildSpec } from '../config/index.js';
import type { Content } from '../fs/tree.js';
import type { StoredImage } from '../oci/image-store.js';
import { lkbuildRoot } from '../own-files.js';
import { debianPackagesOf } from './package-manifest.js';
import { sbomBytes, type SbomInput } from './sbom.js';

/** The SBOM's file name beside the outputs: NAME.spdx.json. */
export const SBOM_SUFFIX = '.spdx.json';

async function head(content: Content, bytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let n = 0;
  const stream = content.open();
  try {
    for await (const c of stream) {
      chunks.push(c as Buffer);
      n += (c as Buffer).length;
      if (n >= bytes) break;
    }
  } finally {
    stream.destroy();
  }
  return Buffer.concat(chunks).subarray(0, bytes);
}

/**
 * The kernel's release from its x86 boot image: the setup header ("HdrS" at 0x202) points at
 * the version string ("6.1.119 (builder@host) #1 SMP ...") with kernel_version at 0x20e.
 */
export async function kernelRelease(kernel: Content): Promise<string | undefined> {
  const setup = await head(kernel, 64 * 1024);
  if (setup.length < 0x210 || setup.toString('latin1', 0x202, 0x206) !== 'HdrS') return undefined;
  const at = setup.readUInt16LE(0x20e) + 0x200;
  const end = setup.indexOf(0, at);
  if (at >= setup.length || end < 0) return undefined;
  return setup.toString('latin1', at, end).split(' ')[0] || undefined;
}

async function sha256Of(content: Content): Promise<string> {
  const h = createHash('sha256');
  for await (const c of content.open()) h.update(c as Buffer);
  return h.digest('hex');
}

/** lkbuild's programs on the node: lk-run, and lk-init where /usr/bin/lkctl links to it (/init). */
async function components(node: AssembledNode): Promise<Record<string, string>> {
  const found: Record<string, string> = {};
  const lkRun = node.tree.get('usr/bin/lk-run');
  if (lkRun?.type === 'file' && lkRun.content) found['lk-run'] = await sha256Of(lkRun.content);
  const init = node.tree.get('init');
  if (node.tree.get('usr/bin/lkctl')?.linkname === '/init' && init?.type === 'file' && init.content)
    found['lk-init'] = await sha256Of(init.content);
  return found;
}

export async function lkbuildVersion(): Promise<string> {
  const pkg = JSON.parse(await readFile(join(lkbuildRoot(), 'package.json'), 'utf8')) as { version?: string };
  return pkg.version ?? '0.0.0';
}

/** The SBOM of an assembled node, from the images as the cache holds them. */
export async function nodeSbom(o: {
  spec: BuildSpec;
  images: Map<string, StoredImage>;
  node: AssembledNode;
  base: string;
  sourceDateEpoch: number;
}): Promise<Buffer> {
  const input: SbomInput = {
    name: basename(o.base),
    sourceDateEpoch: o.sourceDateEpoch,
    lkbuildVersion: await lkbuildVersion(),
    images: [...o.images.entries()].map(([ref, image]) => ({
      reference: ref.startsWith('@pkg:') ? image.refName : ref,
      digest: image.manifestDescriptor.digest,
      users: imageUsers(o.spec, ref),
      debian: debianPackagesOf(image.config),
    })),
    kernelRelease: o.node.kernel ? await kernelRelease(o.node.kernel) : undefined,
    components: await components(o.node),
  };
  return sbomBytes(input);
}
