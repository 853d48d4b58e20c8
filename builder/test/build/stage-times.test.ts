// A build ends with one line of the time each stage took, in pipeline order; --verbose also
// prints each step as it ends. Real CLI, real recipes from the shared cache (the kernel among them).
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { expect, test } from 'vitest';

const repo = resolve(import.meta.dirname, '../../..');
const cli = join(repo, 'builder/bin/lkbuild.js');

async function buildFile(): Promise<{ dir: string; file: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'lk-stage-times-'));
  const file = join(dir, 'node.yml');
  const text = [
    'kernel:',
    `  image: "@pkg:${repo}/images/kernel"`,
    'init:',
    `  - "@pkg:${repo}/images/init"`,
    'onboot:',
    '  - name: hi',
    `    image: "@pkg:${repo}/images/busybox"`,
    '    command: ["/bin/echo", "hi"]',
    '',
  ].join('\n');
  await writeFile(file, text);
  return { dir, file };
}

const expectedStages = [
  'config',
  'pull',
  'recipe kernel',
  'recipe init',
  'recipe busybox',
  'unpack',
  'assemble',
  'compress',
  'kernel+initrd',
  'tar',
  'sbom',
];

test('a build prints every stage once, with its seconds, in pipeline order', { timeout: 1_800_000 }, async () => {
  const { dir, file } = await buildFile();
  const r = await execa('node', [cli, 'build', '-o', join(dir, 'out'), '-f', 'kernel+initrd', '-f', 'tar', file]);
  const lines = r.stderr.split('\n').filter((l) => l.startsWith('lkbuild: stages: '));
  expect(lines).toHaveLength(1);
  const stages = lines[0]!.slice('lkbuild: stages: '.length).split(', ');
  expect(stages.map((s) => s.replace(/ \d+\.\d\ds$/, ''))).toEqual(expectedStages);
  for (const s of stages) expect(s).toMatch(/ \d+\.\d\ds$/);
  // The stages cover the build: together no longer than the whole run the CLI reports.
  const total = stages.reduce((sum, s) => sum + Number(/ (\d+\.\d\d)s$/.exec(s)![1]), 0);
  const done = Number(/lkbuild: done in (\d+\.\d)s/.exec(r.stderr)![1]);
  expect(total).toBeLessThanOrEqual(done + 0.1);
  expect(total).toBeGreaterThan(0);
});

test('--verbose prints each step as it ends: the recipes by name, each image unpacked', { timeout: 1_800_000 }, async () => {
  const { dir, file } = await buildFile();
  const r = await execa('node', [cli, 'build', '-v', '-o', join(dir, 'out'), file]);
  const steps = r.stderr
    .split('\n')
    .map((l) => /^lkbuild: (recipe \w+|unpack|assemble|compress|kernel\+initrd|sbom) \d+\.\d\ds/.exec(l)?.[1])
    .filter((s) => s !== undefined);
  // kernel, init, busybox; then the kernel image, its modules, init and busybox unpacked
  expect(steps).toEqual([
    'recipe kernel',
    'recipe init',
    'recipe busybox',
    'unpack',
    'unpack',
    'unpack',
    'unpack',
    'assemble',
    'compress',
    'kernel+initrd',
    'sbom',
  ]);
});

test('a build with a root image times its making as a stage of its own, before the formats', { timeout: 1_800_000 }, async () => {
  const { dir, file } = await buildFile();
  const r = await execa('node', [cli, 'build', '-o', join(dir, 'out'), '-f', 'kernel+squashfs', file]);
  const line = r.stderr.split('\n').find((l) => l.startsWith('lkbuild: stages: '))!;
  const names = line
    .slice('lkbuild: stages: '.length)
    .split(', ')
    .map((s) => s.replace(/ \d+\.\d\ds$/, ''));
  expect(names.slice(-5)).toEqual(['assemble', 'compress', 'root image', 'kernel+squashfs', 'sbom']);
});
