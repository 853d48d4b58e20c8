#!/usr/bin/env node
// The boot cost of the verified root: one node file built three ways (kernel+initrd,
// kernel+squashfs, kernel+squashfs --verity), each booted N times on q35 under TCG with
// lk.poweroff=ready. Medians of the guest uptime at `lk-init: ready`, and for --verity of the
// init's full read through dm-verity (`verify-ms` on its `lk-init: root` line).
// Prints one line per build and the summary line
//   verity ready-cost <s>   (median ready with --verity minus without, kernel+squashfs both)
// Usage: node bench/verity/run.mjs [--boots 5] [--file examples/minimal.yml]
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { boot, buildNode, median, scratchDir, summary } from '../lib.mjs';

const { values } = parseArgs({
  options: { boots: { type: 'string', default: '5' }, file: { type: 'string', default: 'examples/minimal.yml' } },
});
const out = scratchDir('verity');
const builds = [
  { name: 'kernel+initrd', args: ['-f', 'kernel+initrd'] },
  { name: 'kernel+squashfs', args: ['-f', 'kernel+squashfs'] },
  { name: 'kernel+squashfs --verity', args: ['-f', 'kernel+squashfs', '--verity'] },
];
const ready = new Map();
for (const [i, b] of builds.entries()) {
  mkdirSync(join(out, String(i)));
  const base = await buildNode([values.file], join(out, String(i)), b.args);
  const runs = [];
  for (let n = 0; n < Number(values.boots); n++) {
    const r = await boot(base);
    if (r.ready === undefined) throw new Error(`${b.name}: no ready marker:\n${r.text.slice(-2000)}`);
    const root = /lk-init: root \S+ verity=on blocks=(\d+) verify-ms=(\d+)/.exec(r.text);
    runs.push({ ...r, blocks: root ? Number(root[1]) : 0, verifyMs: root ? Number(root[2]) : 0 });
  }
  ready.set(b.name, median(runs.map((r) => r.ready)));
  const verify = runs[0].blocks ? `, verify ${median(runs.map((r) => r.verifyMs))} ms for ${runs[0].blocks} blocks` : '';
  console.log(
    `${b.name}: start ${median(runs.map((r) => r.start)).toFixed(2)} s, ready ${ready.get(b.name).toFixed(2)} s${verify} (medians of ${runs.length})`,
  );
}
summary('verity', 'ready-cost', (ready.get('kernel+squashfs --verity') - ready.get('kernel+squashfs')).toFixed(3));
