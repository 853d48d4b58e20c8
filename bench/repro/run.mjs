#!/usr/bin/env node
// Reproducible from an empty cache: builds the build files twice, each time from its own empty
// cache (LKBUILD_CACHE and LKBUILD_TMPDIR in fresh temporary directories, a different working
// directory), one build after the other, so each compiles every recipe, the kernel included
// (8-15 min each on a loaded 2-core machine). Every output format is written; each output file
// is then compared by sha256, and so is every image each cache holds (its manifest digest).
// Prints one line per file and image and the summary line `repro differing-files N` (outputs
// and images that are not identical). A difference is a figure, not a failure: the exit
// status is 1 only when a build crashes.
// Usage: node bench/repro/run.mjs [--file F]... [--keep]
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { cli, repo, run, scratchDir, summary, timed } from '../lib.mjs';

const { values } = parseArgs({
  options: {
    file: { type: 'string', multiple: true, default: ['examples/minimal.yml', 'examples/node.yml'] },
    keep: { type: 'boolean', default: false },
  },
});
const { formatNames } = await import(join(repo, 'builder', 'dist', 'formats', 'index.js'));

async function sha256(path) {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** ref -> manifest digest of every image in an OCI layout (the cache). */
function cachedImages(cache) {
  const index = JSON.parse(readFileSync(join(cache, 'index.json'), 'utf8'));
  return new Map(index.manifests.map((m) => [m.annotations?.['org.opencontainers.image.ref.name'], m.digest]));
}

/** One cold round: every build file, every format, from a cache nobody else has used. */
async function coldRound(round) {
  const root = scratchDir(`repro-${round}`);
  const env = { LKBUILD_CACHE: join(root, 'cache'), LKBUILD_TMPDIR: join(root, 'tmp') };
  const outputs = new Map();
  for (const file of values.file) {
    const out = join(root, 'work', `out-${round}`);
    const args = [cli, 'build', '-o', out, ...formatNames.flatMap((f) => ['-f', f]), join(repo, file)];
    for (const dir of [env.LKBUILD_TMPDIR, out]) mkdirSync(dir, { recursive: true });
    const seconds = await timed(() => run(process.execPath, args, { env, cwd: join(root, 'work') }));
    console.log(`round ${round}: ${file} built in ${seconds.toFixed(0)} s (cache ${env.LKBUILD_CACHE})`);
    for (const name of readdirSync(out)) {
      const path = join(out, name);
      if (!outputs.has(name)) outputs.set(name, { size: statSync(path).size, sha256: await sha256(path) });
    }
  }
  return { root, outputs, images: cachedImages(env.LKBUILD_CACHE), finished: new Date().toISOString() };
}

const rounds = [];
for (const round of [1, 2]) rounds.push(await coldRound(round));
const [a, b] = rounds;
console.log(`rounds finished at ${a.finished} and ${b.finished}`);

let differing = 0;
for (const name of [...new Set([...a.outputs.keys(), ...b.outputs.keys()])].sort()) {
  const [x, y] = [a.outputs.get(name), b.outputs.get(name)];
  const same = x && y && x.sha256 === y.sha256;
  if (!same) differing++;
  const show = (o) => (o ? `${o.size} ${o.sha256}` : 'missing');
  console.log(`output ${name} ${same ? 'identical' : 'DIFFERS'} ${same ? show(x) : `${show(x)} / ${show(y)}`}`);
}
for (const ref of [...new Set([...a.images.keys(), ...b.images.keys()])].sort()) {
  const [x, y] = [a.images.get(ref), b.images.get(ref)];
  const same = x !== undefined && x === y;
  if (!same) differing++;
  console.log(`image ${ref} ${same ? 'identical' : 'DIFFERS'} ${same ? x : `${x ?? 'missing'} / ${y ?? 'missing'}`}`);
}
if (values.keep) console.log(`kept: ${a.root} ${b.root}`);
else for (const r of rounds) rmSync(r.root, { recursive: true, force: true });
summary('repro', 'differing-files', differing);
