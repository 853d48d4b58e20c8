// A build that pulls an image shows the pull's progress: plain lines when stderr is not a
// terminal (CI), one live line with bytes and rate on a terminal (run under script(1)).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import type { StoredImage } from '../../src/oci/image-store.js';
import { makeImageLayout, skopeoPush } from '../registry/helpers/images.js';
import { startRegistry, type RunningRegistry } from '../registry/helpers/registry-server.js';

const cli = resolve(import.meta.dirname, '../../bin/lkbuild.js');
let registry: RunningRegistry;
let image: StoredImage;
let ref: string;

beforeAll(async () => {
  registry = await startRegistry();
  const made = await makeImageLayout('src/progress:1', 2, 512 << 10);
  image = made.image;
  ref = `${registry.host}/progress:1`;
  await skopeoPush(made.layout.root, 'src/progress:1', ref);
});
afterAll(async () => registry?.stop());

async function workspace(): Promise<{ dir: string; file: string; env: Record<string, string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'lk-pull-progress-'));
  const file = join(dir, 'node.yml');
  await writeFile(file, `init:\n  - ${ref}\n`);
  return { dir, file, env: { LKBUILD_CACHE: join(dir, 'cache'), DOCKER_CONFIG: dir } };
}

test('without a terminal: one line for the image, one per blob, a summary; nothing once cached', async () => {
  const { dir, file, env } = await workspace();
  const args = [cli, 'build', '-o', join(dir, 'out'), '-f', 'tar', file];
  const r = await execa('node', args, { env });
  const lines = r.stderr.split('\n').filter((l) => l.startsWith(`lkbuild: pull ${ref}: `));
  const digest = image.manifestDescriptor.digest;
  expect(lines[0]).toBe(`lkbuild: pull ${ref}: ${digest} (3 blobs)`);
  for (const blob of [image.manifest.config, ...image.manifest.layers]) {
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`^lkbuild: pull ${ref}: ${blob.digest.slice(0, 19)} done \\(`)));
  }
  expect(lines).toHaveLength(5);
  expect(lines[4]).toMatch(/: 1\.0 MiB in \d+\.\ds$/);
  expect(r.stderr).not.toContain('\r');

  const again = await execa('node', args, { env });
  expect(again.stderr).not.toContain('lkbuild: pull');
});

test('on a terminal: a live line with blobs, bytes and rate, ended by a newline', async () => {
  const { dir, file, env } = await workspace();
  const command = ['node', cli, 'build', '-o', join(dir, 'out'), '-f', 'tar', file].map((a) => `'${a}'`).join(' ');
  // script(1) gives the CLI a pseudo-terminal; its output is what the terminal would show.
  const r = await execa('script', ['-qfec', command, '/dev/null'], { env: { ...env, PATH: process.env.PATH ?? '' } });
  const live = r.stdout.split('\r\x1b[K').filter((s) => s.startsWith(`pull ${ref}: `));
  expect(live.length).toBeGreaterThan(0);
  const last = live[live.length - 1]!;
  expect(last).toMatch(new RegExp(`^pull ${ref.replace(/[.]/g, '\\.')}: 3/3 blobs, 1\\.0 MiB/1\\.0 MiB \\d+(\\.\\d)? (B|KiB|MiB|GiB)/s\\r?\\n`));
  expect(r.stdout).not.toContain(`lkbuild: pull ${ref}`);
});
