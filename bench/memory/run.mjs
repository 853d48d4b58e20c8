#!/usr/bin/env node
// Memory: the smallest `--mem` (MiB) at which a build reaches `lk-init: ready`, by bisection
// between --low and --high, to --step MiB; then the RSS of PID 1 (the init) and of each lk-run
// on the idle node, read from /proc in the guest by a service added from bench/memory/rss.yml.
// Prints each boot and the summary line `memory min-mib <MiB>`.
// Usage: node bench/memory/run.mjs [--file examples/node.yml] [--low 16] [--high 128] [--step 4]
import { parseArgs } from 'node:util';
import { boot, buildNode, scratchDir, summary } from '../lib.mjs';

const { values } = parseArgs({
  options: {
    file: { type: 'string', default: 'examples/node.yml' },
    low: { type: 'string', default: '16' },
    high: { type: 'string', default: '128' },
    step: { type: 'string', default: '4' },
  },
});
const base = await buildNode([values.file], scratchDir('memory'));
const reachesReady = async (mem) => {
  const r = await boot(base, { mem, timeoutMs: 180_000 });
  console.log(`--mem ${mem}: ${r.ready !== undefined ? `ready at ${r.ready.toFixed(3)} s` : 'no ready'}`);
  return r.ready !== undefined;
};
// Invariant: `high` reaches ready, `low` does not (both checked, not assumed).
let low = Number(values.low);
let high = Number(values.high);
if (!(await reachesReady(high))) throw new Error(`${values.file} does not reach ready even with --mem ${high}`);
if (await reachesReady(low)) high = low;
while (high - low > Number(values.step)) {
  const mid = Math.round((low + high) / 2);
  if (await reachesReady(mid)) high = mid;
  else low = mid;
}
console.log(`${values.file} reaches ready with --mem ${high}${high > low ? ` and not with ${low}` : ''}`);

const rssBase = await buildNode([values.file, 'bench/memory/rss.yml'], scratchDir('memory-rss'));
const r = await boot(rssBase, { append: 'lk.poweroff=ready+10' });
const rss = [...r.text.matchAll(/bench-rss (\S+) (\d+) (\d+)/g)].map(([, name, pid, kib]) => ({
  name,
  pid: Number(pid),
  kib: Number(kib),
}));
if (rss.length === 0) console.log(`no RSS lines in the console:\n${r.text.slice(-1500)}`);
for (const p of rss.filter((p) => p.pid === 1 || p.name === 'lk-run')) console.log(`RSS ${p.name} pid ${p.pid}: ${p.kib} KiB`);
summary('memory', 'min-mib', high);
