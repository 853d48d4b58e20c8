// Layers that are not what their media type says, made by umoci and pushed by skopeo to a real
// registry: `lkbuild build` must fail with an error naming the image and the layer, exit 1,
// and write nothing.
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRegistry, type RunningRegistry } from '../registry/helpers/registry-server.js';

const cli = resolve(import.meta.dirname, '../../bin/lkbuild.js');
let registry: RunningRegistry;
let work: string;

/** An image whose only layer is `layerFile` as umoci's raw add-layer takes it (it gzips it once more). */
async function pushRawLayerImage(name: string, layerFile: string): Promise<string> {
  const layout = join(work, `layout-${name}`);
  await execa('umoci', ['init', '--layout', layout]);
  await execa('umoci', ['new', '--image', `${layout}:${name}`]);
  await execa('umoci', ['raw', 'add-layer', '--image', `${layout}:${name}`, layerFile]);
  const ref = `${registry.host}/bad/${name}:1`;
  await execa('skopeo', ['copy', '--insecure-policy', '--dest-tls-verify=false', `oci:${layout}:${name}`, `docker://${ref}`]);
  return ref;
}

/** The digest of the (only) layer, as the registry serves the manifest. */
async function layerDigest(ref: string): Promise<string> {
  const { stdout } = await execa('skopeo', ['inspect', '--tls-verify=false', `docker://${ref}`]);
  const layers = JSON.parse(stdout).Layers as string[];
  expect(layers).toHaveLength(1);
  return layers[0]!;
}

async function buildWith(ref: string): Promise<{ exitCode?: number; stderr: string; out: string }> {
  const dir = await mkdtemp(join(work, 'build-'));
  const file = join(dir, 'node.yml');
  await writeFile(file, `init:\n  - ${ref}\n`);
  const out = join(dir, 'out');
  const r = await execa('node', [cli, 'build', '-o', out, '-f', 'tar', file], {
    reject: false,
    env: { LKBUILD_CACHE: join(dir, 'cache'), DOCKER_CONFIG: dir },
  });
  return { exitCode: r.exitCode, stderr: r.stderr, out };
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

beforeAll(async () => {
  registry = await startRegistry();
  work = await mkdtemp(join(tmpdir(), 'lk-malformed-layer-'));
  const src = join(work, 'src');
  await mkdir(join(src, 'etc'), { recursive: true });
  await writeFile(join(src, 'etc', 'motd'), 'hello\n'.repeat(2000));
  await execa('tar', ['-C', src, '-cf', join(work, 'good.tar'), 'etc']);
});
afterAll(async () => registry?.stop());

describe('a malformed layer is a clear error, exit 1, nothing written', () => {
  test('a gzip stream inside a gzip layer', async () => {
    await execa('gzip', ['-k', join(work, 'good.tar')]);
    const ref = await pushRawLayerImage('gzgz', join(work, 'good.tar.gz'));
    const digest = await layerDigest(ref);
    const r = await buildWith(ref);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^lkbuild: error: image ${escape(ref)}, layer ${digest}: not a tar archive: its gzip data holds a gzip stream$`, 'm'));
    expect(r.stderr).toMatch(/hint: the layer was compressed twice/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    await expect(readdir(r.out)).rejects.toThrow(/ENOENT/);
  });

  test('a truncated tar', async () => {
    const whole = await readFile(join(work, 'good.tar'));
    expect(whole.length).toBeGreaterThan(10_000);
    await writeFile(join(work, 'cut.tar'), whole.subarray(0, 6_000)); // inside the file's data
    const ref = await pushRawLayerImage('cut', join(work, 'cut.tar'));
    const digest = await layerDigest(ref);
    const r = await buildWith(ref);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^lkbuild: error: image ${escape(ref)}, layer ${digest}: `, 'm'));
    expect(r.stderr).not.toMatch(/\n\s+at /);
    await expect(readdir(r.out)).rejects.toThrow(/ENOENT/);
  });
});
