#!/usr/bin/env node
// Cold-process validation time of a big build file: generates a file with N services (default
// 500, each with capabilities, binds, rlimits, env and a depends on the one before) and runs
// `lkbuild validate` on it R times, each in a fresh node process.
// Reference, measured in the same run and interleaved with it: `node -e 0`, the cost of starting
// node at all. Prints medians (wall and CPU) and the line `validate/node <ratio>`.
// Run `npm run build` first: it times the compiled CLI, as users run it.
// Usage: node bench/validate/run.mjs [--services 500] [--runs 7]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { services: { type: 'string', default: '500' }, runs: { type: 'string', default: '7' } } });
const cli = join(repo, 'builder', 'bin', 'lkbuild.js');
const n = Number(values.services);

function buildFile(count) {
  const services = Array.from({ length: count }, (_, i) =>
    [
      `  - name: svc${i}`,
      `    image: registry.example/team/app${i}:1.${i % 10}`,
      '    capabilities: [CAP_NET_BIND_SERVICE, CAP_CHOWN, CAP_SETUID, CAP_SETGID]',
      '    binds:',
      '      - /var/lib/app:/data',
      '      - /etc/resolv.conf:/etc/resolv.conf:ro',
      '      - shared:/shared',
      '    rlimits: ["nofile,1024,4096"]',
      `    env: [MODE=prod, INSTANCE=${i}]`,
      i > 0 ? `    depends: [svc${i - 1}]` : '    restart: on-failure',
    ].join('\n'),
  );
  return [
    'kernel:',
    '  image: linuxkit/kernel:6.6.13',
    '  cmdline: "console=ttyS0"',
    'init:',
    '  - linuxkit/init:45a1ad5919f0b6acf0f0cf730e9434abfae11fe6',
    'volumes:',
    '  - name: shared',
    'services:',
    ...services,
    'files:',
    '  - path: etc/motd',
    '    contents: "hello\\n"',
    '    mode: "0644"',
    '',
  ].join('\n');
}

const dir = mkdtempSync(join(tmpdir(), 'lkbuild-bench-validate-'));
const file = join(dir, 'big.yml');
const text = buildFile(n);
writeFileSync(file, text);

/**
 * CPU seconds of all finished children so far (user + system): cutime and cstime from
 * /proc/self/stat, in USER_HZ (100) ticks. Undefined where there is no /proc.
 */
function childCpu() {
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields[0] is field 3, "state"
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return undefined;
  }
}

/** Wall and CPU seconds of one fresh node process running args. */
function timed(args) {
  const cpuBefore = childCpu();
  const start = process.hrtime.bigint();
  const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  const wall = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.status !== 0) throw new Error(`node ${args.join(' ')} failed (${r.status}):\n${r.stderr}`);
  const cpuAfter = childCpu();
  return { wall, cpu: cpuBefore === undefined || cpuAfter === undefined ? NaN : cpuAfter - cpuBefore };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const runs = Number(values.runs);
timed(['-e', '0']); // warm the file system cache for both
timed([cli, 'validate', file]);
const node0 = [];
const validate = [];
for (let i = 0; i < runs; i++) {
  node0.push(timed(['-e', '0']));
  validate.push(timed([cli, 'validate', file]));
}
rmSync(dir, { recursive: true, force: true });

const v = { wall: median(validate.map((r) => r.wall)), cpu: median(validate.map((r) => r.cpu)) };
const z = { wall: median(node0.map((r) => r.wall)), cpu: median(node0.map((r) => r.cpu)) };
console.log(`build file: ${n} services, ${(Buffer.byteLength(text) / 1024).toFixed(0)} KiB; ${runs} cold runs each, interleaved`);
console.log(`lkbuild validate ${v.wall.toFixed(3)} s wall, ${v.cpu.toFixed(2)} s CPU (median)`);
console.log(`node -e 0        ${z.wall.toFixed(3)} s wall, ${z.cpu.toFixed(2)} s CPU (median)`);
console.log(`validate without node's start ${(v.wall - z.wall).toFixed(3)} s wall`);
console.log(`validate/node ${(v.wall / z.wall).toFixed(2)}`);
