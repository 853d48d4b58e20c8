// While a recipe's build script runs, the CLI shows its progress: objects made, elapsed time and
// the command running; on a terminal as one live line (run under script(1)), in CI as plain
// lines. A small recipe whose script compiles twelve objects, built by `lkbuild pkg build`.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, expect, test } from 'vitest';

const cli = resolve(import.meta.dirname, '../../bin/lkbuild.js');
const cache = join(tmpdir(), `lk-recipe-progress-cache-${process.pid}`); // private: every build here really builds
afterAll(() => rm(cache, { recursive: true, force: true }));

// Echoes its command as zx does, then makes one object every 250 ms in its work directory.
const script = `
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
console.log('$ make -s -C /src O=' + process.env.LK_WORKDIR + ' -j2 all');
const out = join(process.env.LK_WORKDIR, 'obj');
mkdirSync(out);
for (let i = 0; i < 12; i++) {
  writeFileSync(join(out, 'f' + i + '.o'), '');
  await new Promise((r) => setTimeout(r, 250));
}
writeFileSync(join(process.env.LK_ROOTFS, 'made'), 'yes\\n');
`;

async function recipe(variant: string): Promise<{ dir: string; env: Record<string, string> }> {
  const root = await mkdtemp(join(tmpdir(), 'lk-recipe-progress-'));
  const dir = join(root, 'probe');
  await mkdir(dir);
  await writeFile(join(dir, 'build.yml'), 'name: progress-probe\nbuild: build.mjs\n');
  await writeFile(join(dir, 'build.mjs'), `${script}// ${variant}\n`); // a new variant, a new image
  return { dir, env: { LKBUILD_CACHE: cache } };
}

test('without a terminal: a status line a second in, then one each 30 s, and the object count at the end', { timeout: 120_000 }, async () => {
  const { dir, env } = await recipe('plain');
  const r = await execa('node', [cli, 'pkg', 'build', dir], { env });
  const lines = r.stderr.split('\n');
  const status = lines.filter((l) => l.startsWith('lkbuild: recipe progress-probe: '));
  expect(status, r.stderr).toHaveLength(1); // the script takes about 3 s
  expect(status[0]).toMatch(/^lkbuild: recipe progress-probe: (\d+(\/~\d+)? objects, )?\d+s, make all$/);
  expect(lines).toContainEqual(expect.stringMatching(/^lkbuild: built lkbuild\/progress-probe:\w+ in \d+\.\ds \(12 objects\)$/));
  expect(r.stderr).not.toContain('\r');
});

test('on a terminal: a live line counting the objects against the last build', { timeout: 120_000 }, async () => {
  const first = await recipe('first');
  await execa('node', [cli, 'pkg', 'build', first.dir], { env: first.env }); // leaves a count of 12
  const { dir, env } = await recipe('second');
  const command = ['node', cli, 'pkg', 'build', dir].map((a) => `'${a}'`).join(' ');
  const r = await execa('script', ['-qfec', command, '/dev/null'], { env: { ...env, PATH: process.env.PATH ?? '' } });
  const live = r.stdout
    .split('\r\x1b[K')
    .map((s) => /^recipe progress-probe: (\d+)\/~12 objects, (\d+)s, make all/.exec(s))
    .filter((m) => m !== null);
  expect(live.length).toBeGreaterThanOrEqual(2); // the script runs about 3 s: a line a second
  const counts = live.map((m) => Number(m[1]));
  expect(counts).toEqual([...counts].sort((a, b) => a - b)); // never goes back
  expect(counts.at(-1)).toBeGreaterThan(0);
  // The line is cleared for what follows: "built" starts a line of its own.
  expect(r.stdout).toMatch(/\r\x1b\[Klkbuild: built lkbuild\/progress-probe:\w+ in \d+\.\ds \(12 objects\)\r?\n/);
});

test('a build that waits for another lkbuild building the same recipe says so', { timeout: 120_000 }, async () => {
  const { dir, env } = await recipe('waiting');
  const locks = join(cache, 'locks');
  await mkdir(locks, { recursive: true });
  const lock = join(locks, 'lkbuild-progress-probe.lock');
  await writeFile(lock, String(process.pid)); // held by a live process: this one
  const build = execa('node', [cli, 'pkg', 'build', dir], { env });
  await new Promise((r) => setTimeout(r, 3000));
  await rm(lock);
  const r = await build;
  const lines = r.stderr.split('\n');
  const waited = lines.findIndex((l) => l === `lkbuild: recipe progress-probe: waiting for another lkbuild (pid ${process.pid}) building it, 0s`);
  const built = lines.findIndex((l) => /^lkbuild: built lkbuild\/progress-probe:\w+ in /.test(l));
  expect(waited).toBeGreaterThanOrEqual(0);
  expect(built).toBeGreaterThan(waited);
  // once the script runs, its own status shows at once (a second in), not 30 s after the waiting line
  expect(lines.slice(waited + 1, built)).toContainEqual(expect.stringMatching(/^lkbuild: recipe progress-probe: .*make all$/));
});
