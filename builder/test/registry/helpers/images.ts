import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { tarFromDir } from '../../../src/archive/tar-from-dir.js';
import { commitImage, writeLayer, type StoredImage } from '../../../src/oci/image-store.js';
import { OciLayout } from '../../../src/oci/layout.js';

export async function tempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** An image of `layers` layers, each holding `bytesPerLayer` of random (incompressible) data. */
export async function makeImage(layout: OciLayout, refName: string, layers = 3, bytesPerLayer = 1 << 20): Promise<StoredImage> {
  await layout.init();
  const written = [];
  for (let i = 0; i < layers; i++) {
    const src = await tempDir('lk-img-src-');
    await mkdir(join(src, 'data'));
    await writeFile(join(src, 'data', `layer-${i}.bin`), randomBytes(bytesPerLayer));
    await writeFile(join(src, 'data', `name-${i}.txt`), `${refName} layer ${i}\n`);
    written.push(await writeLayer(layout, tarFromDir(src, 0)));
    await rm(src, { recursive: true, force: true });
  }
  return commitImage(layout, refName, written, {
    architecture: 'amd64',
    os: 'linux',
    created: new Date(0).toISOString(),
    config: { Cmd: ['/bin/sh'] },
  });
}

/** A fresh layout holding one generated image; returns the layout. */
export async function makeImageLayout(
  refName: string,
  layers = 3,
  bytesPerLayer = 1 << 20,
): Promise<{ layout: OciLayout; image: StoredImage }> {
  const layout = new OciLayout(await tempDir('lk-src-layout-'));
  const image = await makeImage(layout, refName, layers, bytesPerLayer);
  return { layout, image };
}

/** skopeo copy from an OCI layout to a plain-HTTP registry. */
export async function skopeoPush(layoutDir: string, refName: string, dest: string, creds?: string): Promise<void> {
  await execa('skopeo', [
    'copy',
    '--insecure-policy',
    '--dest-tls-verify=false',
    ...(creds ? ['--dest-creds', creds] : []),
    `oci:${layoutDir}:${refName}`,
    `docker://${dest}`,
  ]);
}

/** Docker config dir holding `auths` for one registry. */
export async function dockerConfigWith(registry: string, user: string, pass: string): Promise<string> {
  const dir = await tempDir('lk-docker-config-');
  const auth = Buffer.from(`${user}:${pass}`).toString('base64');
  await writeFile(join(dir, 'config.json'), JSON.stringify({ auths: { [registry]: { auth } } }));
  return dir;
}
