// A build file naming an image that exists nowhere: the error names the image, who uses it,
// and what the registry said; no output appears.
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { startRegistry, type RunningRegistry } from '../registry/helpers/registry-server.js';

const cli = resolve(import.meta.dirname, '../../bin/lkbuild.js');
let registry: RunningRegistry;

beforeAll(async () => {
  registry = await startRegistry();
});
afterAll(async () => registry?.stop());

test('an image the registry does not have is a clear error naming the image and its user', async () => {
  const work = await mkdtemp(join(tmpdir(), 'lk-missing-image-'));
  const file = join(work, 'node.yml');
  const missing = `${registry.host}/nobody/sshd:v1`;
  await writeFile(file, `init:\n  - ${missing}\nservices:\n  - name: sshd\n    image: ${missing}\n`);
  const r = await execa('node', [cli, 'build', '-o', join(work, 'out'), '-f', 'kernel+initrd', file], {
    reject: false,
    env: { LKBUILD_CACHE: join(work, 'cache'), DOCKER_CONFIG: work },
  });
  expect(r.exitCode).toBe(1);
  expect(r.stderr).toMatch(new RegExp(`^lkbuild: error: image ${missing.replace(/[.]/g, '\\.')} \\(init, service sshd\\): .*not found`, 'm'));
  await expect(readdir(join(work, 'out'))).rejects.toThrow(/ENOENT/);
});
