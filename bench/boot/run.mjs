#!/usr/bin/env node
// Boot time: builds examples/minimal.yml and examples/node.yml and boots each N times on q35 and
// on microvm under TCG with lk.poweroff=ready, reading the guest uptime at the init's
// `lk-init: start` and `lk-init: ready` markers. The kernel's own boot to the init (start) is the
// reference for the init's share (ready - start), measured in the same boots.
// Prints medians per file and machine, and the summary lines
//   boot microvm-ready <s>   (minimal.yml on microvm, median ready uptime)
//   boot init-cost <s>       (bench/boot/three-services.yml on microvm, median ready - start:
//                             three services and nothing that waits; node.yml's ready - start
//                             also holds its onboot steps, the DHCP lease among them)
// --kernel (a kernel image recipe folder, repeatable; default images/kernel) builds each file
// with that kernel in place of its own; several kernels' boots are interleaved, and the summary
// lines are the first kernel's, its lines unlabelled, the others' labelled with their folder.
// Usage: node bench/boot/run.mjs [--boots 5] [--file F]... [--machine M]... [--kernel DIR]...
import { writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { boot, buildNode, median, parseOptions, repo, scratchDir, summary } from '../lib.mjs';

const THREE_SERVICES = 'bench/boot/three-services.yml';
const values = parseOptions(
  {
    boots: { type: 'string', default: '5' },
    file: { type: 'string', multiple: true, default: ['examples/minimal.yml', THREE_SERVICES, 'examples/node.yml'] },
    machine: { type: 'string', multiple: true, default: ['q35', 'microvm'] },
    kernel: { type: 'string', multiple: true, default: ['images/kernel'] },
  },
  'usage: node bench/boot/run.mjs [--boots 5] [--file F]... [--machine q35|microvm]... [--kernel DIR]...',
);
const out = scratchDir('boot');

/** A build file that swaps the kernel image (merged after the node's file, it keeps the cmdline). */
function kernelOverlay(kernelDir, i) {
  const path = join(out, `kernel-${i}.yml`);
  writeFileSync(path, `kernel:\n  image: ${JSON.stringify(`@pkg:${resolve(repo, kernelDir)}`)}\n`);
  return path;
}

const kernels = values.kernel.map((dir, i) => ({
  label: i === 0 ? '' : ` (${basename(dir)})`,
  overlay: [kernelOverlay(dir, i)],
}));
const figures = new Map();
for (const file of values.file) {
  const bases = [];
  for (const [i, k] of kernels.entries()) bases.push(await buildNode([file, ...k.overlay], scratchDir(`boot-${i}`)));
  for (const machine of values.machine) {
    const runs = kernels.map(() => []);
    for (let n = 0; n < Number(values.boots); n++) {
      for (const [i, k] of kernels.entries()) {
        const r = await boot(bases[i], { machine });
        if (r.start === undefined || r.ready === undefined)
          throw new Error(`${file}${k.label} on ${machine}: no start/ready markers:\n${r.text.slice(-2000)}`);
        runs[i].push(r);
      }
    }
    for (const [i, k] of kernels.entries()) {
      const f = {
        start: median(runs[i].map((r) => r.start)),
        ready: median(runs[i].map((r) => r.ready)),
        init: median(runs[i].map((r) => r.ready - r.start)),
      };
      if (i === 0) figures.set(`${file} ${machine}`, f);
      console.log(
        `${file}${k.label} ${machine}: start ${f.start.toFixed(3)} s, ready ${f.ready.toFixed(3)} s, init ready-start ${f.init.toFixed(3)} s (init/kernel ${(f.init / f.start).toFixed(3)}; medians of ${runs[i].length})`,
      );
    }
  }
}
const minimal = figures.get('examples/minimal.yml microvm');
const three = figures.get(`${THREE_SERVICES} microvm`);
// The init's share counted in instructions: under -icount shift=0 the guest clock advances
// 1 ns per instruction, so the figure does not move with the host's load (TCG's translation
// cost is not in it). One boot: the count is the same every time.
const counted = await boot(await buildNode([THREE_SERVICES], scratchDir('boot-icount')), {
  machine: 'microvm',
  qemuArgs: ['-icount', 'shift=0'],
});
if (counted.start !== undefined && counted.ready !== undefined)
  console.log(
    `${THREE_SERVICES} microvm -icount shift=0: init ready-start ${Math.round((counted.ready - counted.start) * 1000)} ms (millions of instructions)`,
  );
if (minimal) summary('boot', 'microvm-ready', minimal.ready.toFixed(3));
if (three) summary('boot', 'init-cost', three.init.toFixed(3));
