#!/usr/bin/env node
// `npm run bench`: runs every benchmark in bench/ one after another (never two at once: each
// measures against a reference in its own run), passes their output through, and ends with the
// summary lines, one figure each. A missing figure (its benchmark failed) reads `n/a` and the
// exit status is 1; a figure is never judged against a goal here. An optional benchmark (repro:
// two cold builds, kernels included, 30-60 min) runs only when named with --only, and only then
// has a summary line.
// Usage: node bench/run-all.mjs [--only NAME]...
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { repo } from './lib.mjs';

const benches = [
  { name: 'boot', args: [] },
  { name: 'pull', args: [] },
  { name: 'build', args: [] },
  { name: 'memory', args: ['--step', '1'] },
  { name: 'size', args: [] },
  { name: 'validate', args: [] },
  { name: 'launcher', args: ['--runs', '100'] },
  { name: 'fuzz', args: ['--seconds', '60'] },
  { name: 'repro', args: [], optional: true, keys: ['repro differing-files'] },
];
const { values } = parseArgs({ options: { only: { type: 'string', multiple: true } } });
const chosen = benches.filter((b) => (values.only ? values.only.includes(b.name) : !b.optional));
const keys = [
  ...['boot microvm-ready', 'boot init-cost', 'pull lkbuild/skopeo', 'build lkbuild/gzip', 'memory min-mib', 'size os-part-bytes'],
  ...chosen.flatMap((b) => b.keys ?? []),
];

const figures = new Map();
let failed = false;
for (const b of chosen) {
  console.log(`== bench/${b.name}`);
  const code = await new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repo, 'bench', b.name, 'run.mjs'), ...b.args], { stdio: ['ignore', 'pipe', 'inherit'] });
    let pending = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      const lines = (pending + d).split('\n');
      pending = lines.pop();
      for (const line of lines) {
        const key = keys.find((k) => line.startsWith(`${k} `));
        if (key) figures.set(key, line.slice(key.length + 1).trim());
      }
    });
    child.on('exit', (c) => resolve(c ?? 1));
  });
  if (code !== 0) {
    failed = true;
    console.log(`bench/${b.name} failed (exit ${code})`);
  }
}
console.log('== summary');
for (const k of keys) console.log(`${k} ${figures.get(k) ?? 'n/a'}`);
process.exit(failed ? 1 : 0);
