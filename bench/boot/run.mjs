#!/usr/bin/env node
// Boot time: builds examples/minimal.yml and examples/node.yml and boots each N times on q35 and
// on microvm under TCG with lk.poweroff=ready, reading the guest uptime at the init's
// `lk-init: start` and `lk-init: ready` markers. The kernel's own boot to the init (start) is the
// reference for the init's share (ready - start), measured in the same boots.
// Prints medians per file and machine, and the summary lines
//   boot microvm-ready <s>   (minimal.yml on microvm, median ready uptime)
//   boot init-cost <s>       (node.yml on microvm, median ready - start)
// Usage: node bench/boot/run.mjs [--boots 5] [--file F]... [--machine M]...
import { parseArgs } from 'node:util';
import { boot, buildNode, median, scratchDir, summary } from '../lib.mjs';

const { values } = parseArgs({
  options: {
    boots: { type: 'string', default: '5' },
    file: { type: 'string', multiple: true, default: ['examples/minimal.yml', 'examples/node.yml'] },
    machine: { type: 'string', multiple: true, default: ['q35', 'microvm'] },
  },
});
const out = scratchDir('boot');
const figures = new Map();
for (const file of values.file) {
  const base = await buildNode([file], out);
  for (const machine of values.machine) {
    const runs = [];
    for (let i = 0; i < Number(values.boots); i++) {
      const r = await boot(base, { machine });
      if (r.start === undefined || r.ready === undefined)
        throw new Error(`${file} on ${machine}: no start/ready markers:\n${r.text.slice(-2000)}`);
      runs.push(r);
    }
    const f = {
      start: median(runs.map((r) => r.start)),
      ready: median(runs.map((r) => r.ready)),
      init: median(runs.map((r) => r.ready - r.start)),
    };
    figures.set(`${file} ${machine}`, f);
    console.log(
      `${file} ${machine}: start ${f.start.toFixed(3)} s, ready ${f.ready.toFixed(3)} s, init ready-start ${f.init.toFixed(3)} s (init/kernel ${(f.init / f.start).toFixed(3)}; medians of ${runs.length})`,
    );
  }
}
const minimal = figures.get('examples/minimal.yml microvm');
const node = figures.get('examples/node.yml microvm');
if (minimal) summary('boot', 'microvm-ready', minimal.ready.toFixed(3));
if (node) summary('boot', 'init-cost', node.init.toFixed(3));
