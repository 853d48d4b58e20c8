#!/usr/bin/env node
// Memory: the smallest `--mem` (MiB) at which a build reaches `lk-init: ready`, by bisection
// between --low and --high, to --step MiB; then the RSS of PID 1 (the init) and of each lk-run
// on the idle node, read from /proc in the guest by a service added from bench/memory/rss.yml.
// Prints each boot and the summary line `memory min-mib <MiB>`.
// Usage: node bench/memory/run.mjs [--file examples/node.yml] [--low 16] [--high 128] [--step 4]
//        [--compression gzip|zstd|none] (the initrd's, passed to lkbuild build)
import { parseArgs } from 'node:util';
import { boot, buildNode, scratchDir, summary } from '../lib.mjs';

const { values } = parseArgs({
  options: {
    file: { type: 'string', default: 'examples/node.yml' },
    low: { type: 'string', default: '16' },
    high: { type: 'string', default: '128' },
    step: { type: 'string', default: '4' },
    compression: { type: 'string' },
  },
});
const buildArgs = values.compression ? ['--compression', values.compression] : [];
const base = await buildNode([values.file], scratchDir('memory'), buildArgs);
// A boot counts only when the whole initramfs was unpacked: the kernel goes on after a failed
// unpack ("Initramfs unpacking failed: write error" when the rootfs, capped at half the RAM,
// is full), and the init may still get to ready without the files that did not fit.
const reachesReady = async (mem) => {
  const r = await boot(base, { mem, timeoutMs: 180_000 });
  const unpackFailed = /Initramfs unpacking failed/.test(r.text);
  const outcome = unpackFailed ? 'initramfs not fully unpacked' : r.ready !== undefined ? `ready at ${r.ready.toFixed(3)} s` : 'no ready';
  console.log(`--mem ${mem}: ${outcome}`);
  return r.ready !== undefined && !unpackFailed;
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

const rssBase = await buildNode([values.file, 'bench/memory/rss.yml'], scratchDir('memory-rss'), buildArgs);
const r = await boot(rssBase, { append: 'lk.poweroff=ready+10' });
const rss = [...r.text.matchAll(/bench-rss (\S+) (\d+) (\d+)/g)].map(([, name, pid, kib]) => ({
  name,
  pid: Number(pid),
  kib: Number(kib),
}));
if (rss.length === 0) console.log(`no RSS lines in the console:\n${r.text.slice(-1500)}`);
for (const p of rss.filter((p) => p.pid === 1 || p.name === 'lk-run')) console.log(`RSS ${p.name} pid ${p.pid}: ${p.kib} KiB`);
summary('memory', 'min-mib', high);
