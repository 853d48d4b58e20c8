#!/usr/bin/env node
// Boot time of a node: builds a build file (default examples/node.yml) and boots it N times
// under QEMU with lk.poweroff=ready, reading the init's console markers.
// Reference, measured in the same boots: the kernel's own time to start the init
// (`lk-init: start uptime`). Prints medians and the line `init/kernel <ratio>`, the time the
// init takes from start to ready relative to the kernel's boot time.
// Usage: node bench/boot/run.mjs [--file examples/node.yml] [--boots 5]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { file: { type: 'string', default: 'examples/node.yml' }, boots: { type: 'string', default: '5' } } });
const cli = join(repo, 'builder', 'bin', 'lkbuild.js');
const out = mkdtempSync(join(tmpdir(), 'lkbuild-bench-boot-'));
const name = basename(values.file, extname(values.file));
execFileSync(process.execPath, [cli, 'build', '-o', out, join(repo, values.file)], { stdio: ['ignore', 'ignore', 'inherit'] });
const base = join(out, name);

function bootOnce() {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(process.execPath, [cli, 'run', 'qemu', '--accel', 'tcg', '--append', 'lk.poweroff=ready', base], { stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 180_000);
    child.on('exit', () => {
      clearTimeout(timer);
      const host = Number(process.hrtime.bigint() - started) / 1e9;
      const start = /lk-init: start uptime=([\d.]+)/.exec(text);
      const ready = /lk-init: ready uptime=([\d.]+)/.exec(text);
      if (!start || !ready) return reject(new Error(`no start/ready markers in the boot output:\n${text.slice(-2000)}`));
      resolve({ start: Number(start[1]), ready: Number(ready[1]), host });
    });
  });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = [];
for (let i = 0; i < Number(values.boots); i++) {
  const r = await bootOnce();
  runs.push(r);
  console.log(`boot ${i + 1}: kernel->init ${r.start.toFixed(3)} s, init start->ready ${(r.ready - r.start).toFixed(3)} s, QEMU wall ${r.host.toFixed(2)} s`);
}
const kernel = median(runs.map((r) => r.start));
const init = median(runs.map((r) => r.ready - r.start));
console.log(`initrd ${(statSync(`${base}-initrd.img`).size / 1024).toFixed(0)} KiB, kernel ${(statSync(`${base}-kernel`).size / 1024).toFixed(0)} KiB`);
console.log(`kernel->init ${kernel.toFixed(3)} s (median, guest uptime)`);
console.log(`init start->ready ${init.toFixed(3)} s (median, guest uptime)`);
console.log(`ready uptime ${median(runs.map((r) => r.ready)).toFixed(3)} s (median)`);
console.log(`init/kernel ${(init / kernel).toFixed(3)}`);
