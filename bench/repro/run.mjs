#!/usr/bin/env node
// Reproducible from an empty cache: builds the build files twice, each time from its own empty
// cache (LKBUILD_CACHE and LKBUILD_TMPDIR in fresh temporary directories, a different working
// directory), so each compiles every recipe, the kernel included (8-15 min each on a loaded
// 2-core machine, far more under heavy load). Every output format is written; each output file
// is then compared by sha256, and so is every image each cache holds (its manifest digest).
// Prints one line per file and image and the summary line `repro differing-files N` (outputs
// and images that are not identical). A difference is a figure, not a failure: the exit
// status is 1 only when a build crashes.
//
// The rounds run one after the other. --concurrent starts them together: they share nothing
// but the machine, and each step still happens at a different moment in each, so a leaked clock
// would still show; it halves the wall time on an idle machine. --rounds 1 builds one round and
// keeps it; --round1 ROOT takes a kept round as the first one, so rounds can be days apart.
// --reference-cache DIR makes the second round a build from an existing cache instead of an
// empty one (the shared cache, whose images were built at other times in other directories): a
// cheaper, weaker check, which compares only the images the cold round holds.
// Usage: node bench/repro/run.mjs [--file F]... [--keep] [--concurrent] [--rounds 1|2]
//          [--round1 ROOT] [--reference-cache DIR]
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { cli, formatGroups, repo, run, scratchDir, summary, timed } from '../lib.mjs';

const { values } = parseArgs({
  options: {
    file: { type: 'string', multiple: true, default: ['examples/minimal.yml', 'examples/node.yml'] },
    keep: { type: 'boolean', default: false },
    concurrent: { type: 'boolean', default: false },
    rounds: { type: 'string', default: '2' },
    round1: { type: 'string' },
    'reference-cache': { type: 'string' },
  },
});

async function sha256(path) {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** One round: every build file, every format, from a cache nobody else has used (or `cache`). */
async function coldRound(round, cache) {
  const root = scratchDir(`repro-${round}`);
  if (cache) symlinkSync(cache, join(root, 'cache'));
  const env = { LKBUILD_CACHE: join(root, 'cache'), LKBUILD_TMPDIR: join(root, 'tmp') };
  const out = join(root, 'work', `out-${round}`);
  for (const dir of [env.LKBUILD_TMPDIR, out]) mkdirSync(dir, { recursive: true });
  for (const file of values.file) {
    const groups = await formatGroups(basename(file, extname(file)));
    const build = (g) => [cli, 'build', '-o', out, '-n', g.name, ...g.formats.flatMap((f) => ['-f', f]), join(repo, file)];
    const seconds = await timed(async () => {
      for (const g of groups) await run(process.execPath, build(g), { env, cwd: join(root, 'work') });
    });
    console.log(
      `round ${round}: ${file} built in ${seconds.toFixed(0)} s (cache ${env.LKBUILD_CACHE}), finished ${new Date().toISOString()}`,
    );
  }
  return root;
}

/** A round's outputs (name -> size and sha256) and its cache's images (ref -> manifest digest). */
async function readRound(root) {
  const work = join(root, 'work');
  const outputs = new Map();
  for (const dir of readdirSync(work).filter((d) => d.startsWith('out-'))) {
    for (const name of readdirSync(join(work, dir))) {
      const path = join(work, dir, name);
      outputs.set(name, { size: statSync(path).size, sha256: await sha256(path) });
    }
  }
  const index = JSON.parse(readFileSync(join(root, 'cache', 'index.json'), 'utf8'));
  const images = new Map(index.manifests.map((m) => [m.annotations?.['org.opencontainers.image.ref.name'], m.digest]));
  return { root, outputs, images };
}

/** Prints one line per output and image; returns how many are not identical. */
function compare(a, b) {
  // A reference cache holds many more images than this round's: compare the round's only.
  if (values['reference-cache']) b.images = new Map([...a.images.keys()].map((ref) => [ref, b.images.get(ref)]));
  let differing = 0;
  const line = (kind, key, x, y, show) => {
    const same = x !== undefined && y !== undefined && show(x) === show(y);
    if (!same) differing++;
    console.log(`${kind} ${key} ${same ? `identical ${show(x)}` : `DIFFERS ${x ? show(x) : 'missing'} / ${y ? show(y) : 'missing'}`}`);
  };
  for (const name of [...new Set([...a.outputs.keys(), ...b.outputs.keys()])].sort()) {
    line('output', name, a.outputs.get(name), b.outputs.get(name), (o) => `${o.size} ${o.sha256}`);
  }
  for (const ref of [...new Set([...a.images.keys(), ...b.images.keys()])].sort()) {
    line('image', ref, a.images.get(ref), b.images.get(ref), (d) => d);
  }
  return differing;
}

// Round 1 is built, or taken from a kept root; round 2 is built cold, or from the reference cache.
const build = (r) => coldRound(r, r === 2 ? values['reference-cache'] : undefined);
const toBuild = values.round1 ? [2] : values.rounds === '1' ? [1] : [1, 2];
const started = Date.now();
const built = values.concurrent ? await Promise.all(toBuild.map(build)) : [];
if (!values.concurrent) for (const r of toBuild) built.push(await build(r));
console.log(`${toBuild.length} round(s) built in ${((Date.now() - started) / 60000).toFixed(1)} min`);
const roots = values.round1 ? [values.round1, ...built] : built;
if (roots.length === 2) {
  const differing = compare(await readRound(roots[0]), await readRound(roots[1]));
  summary('repro', 'differing-files', differing);
}
if (values.keep || roots.length === 1) console.log(`kept: ${roots.join(' ')}`);
else for (const r of built) rmSync(r, { recursive: true, force: true }); // a reference cache is only linked
