// builder/bin/lkbuild.js runs the CLI from its bundle (scripts/bundle.mjs): a command loads a
// few chunks from one folder instead of ~80 files from builder/dist and node_modules. These
// tests run real commands with a module hook that lists every file Node loads, and check that
// files found relative to the code (schemas, the CLI's entry) are still found once bundled.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { makeImageLayout, skopeoPush } from '../registry/helpers/images.js';
import { startRegistry, type RunningRegistry } from '../registry/helpers/registry-server.js';

const repo = resolve(import.meta.dirname, '../../..');
const cli = join(repo, 'builder/bin/lkbuild.js');
const bundleDir = join(repo, 'builder/dist/bundle');

let work: string;
let preload: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lk-bundle-'));
  // ES modules through a loader hook; CommonJS files from require's cache at exit.
  await writeFile(
    join(work, 'hooks.mjs'),
    "export async function load(url, context, next) {\n  if (url.startsWith('file:')) process.stderr.write(`LOADED ${url}\\n`);\n  return next(url, context);\n}\n",
  );
  preload = join(work, 'preload.mjs');
  await writeFile(
    preload,
    [
      "import { createRequire, register } from 'node:module';",
      `register(${JSON.stringify(pathToFileURL(join(work, 'hooks.mjs')).href)});`,
      'const cache = createRequire(import.meta.url).cache;',
      "process.on('exit', () => { for (const f of Object.keys(cache)) process.stderr.write(`LOADED ${f}\\n`); });",
    ].join('\n'),
  );
});
afterAll(async () => rm(work, { recursive: true, force: true }));

/** Runs the CLI; returns its exit code, its stderr without the hook's lines, and the files it loaded. */
async function traced(args: string[], env: Record<string, string> = {}) {
  const r = await execa('node', ['--import', preload, cli, ...args], { reject: false, env: { DOCKER_CONFIG: work, ...env } });
  const lines = r.stderr.split('\n');
  const loaded = lines.filter((l) => l.startsWith('LOADED ')).map((l) => l.slice(7).replace(/^file:\/\//, ''));
  const stderr = lines.filter((l) => !l.startsWith('LOADED ')).join('\n');
  return { code: r.exitCode, stdout: r.stdout, stderr, loaded };
}

const outsideBundle = (files: string[]) => files.filter((f) => f !== cli && !f.startsWith(`${bundleDir}/`));

describe('a network command', () => {
  let registry: RunningRegistry;
  let ref: string;
  beforeAll(async () => {
    registry = await startRegistry();
    const { layout } = await makeImageLayout('src/app:1', 2, 64 << 10);
    ref = `${registry.host}/bundle/app:1`;
    await skopeoPush(layout.root, 'src/app:1', ref);
  });
  afterAll(async () => registry?.stop());

  test('loads only the bundle: no file of builder/dist outside it, nothing of undici from node_modules', async () => {
    const r = await traced(['cache', 'pull', ref], { LKBUILD_CACHE: join(work, 'cache') });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(ref);
    expect(outsideBundle(r.loaded)).toEqual([]);
    const chunks = r.loaded.filter((f) => f.startsWith(`${bundleDir}/`));
    // A lazily imported command is its own chunk: the pull does not load the build's.
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.length).toBeLessThan((await readdir(bundleDir)).length);
  });
});

test('a build file is checked against config/schema.json found from the bundle', async () => {
  const file = join(work, 'bad.yml');
  await writeFile(file, 'kernel:\n  image: k\n  cmdlne: x\n');
  const r = await traced(['build', '-o', join(work, 'out'), file], { LKBUILD_CACHE: join(work, 'cache') });
  expect(r.code).toBe(1);
  expect(r.stderr).toMatch(/bad\.yml:3:3: .*cmdlne/);
  // The schema's precompiled validators (builder/dist/config/schema.validate.cjs) are used.
  expect(r.loaded).toContain(join(repo, 'builder/dist/config/schema.validate.cjs'));
  expect(outsideBundle(r.loaded).filter((f) => !f.includes('/node_modules/ajv/'))).toEqual([
    join(repo, 'builder/dist/config/schema.validate.cjs'),
  ]);
});
