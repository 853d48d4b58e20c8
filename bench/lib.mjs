// What the benchmarks share: the repo's paths, running the real CLI, booting a built node under
// QEMU and reading the init's console markers, medians, and the summary lines `npm run bench`
// collects (`<bench> <key> <figure>`, one figure each, so a script can read them).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
export const cli = join(repo, 'builder', 'bin', 'lkbuild.js');

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Prints one summary line; `npm run bench` picks these out of each benchmark's output. */
export function summary(bench, key, figure) {
  console.log(`${bench} ${key} ${figure}`);
}

/**
 * parseArgs for a benchmark's command line: --help prints `usage` and exits 0, a bad option
 * prints the reason and `usage` and exits 2 (no stack trace).
 */
export function parseOptions(options, usage) {
  let parsed;
  try {
    parsed = parseArgs({ options: { ...options, help: { type: 'boolean' } } });
  } catch (e) {
    console.error(`${e.message}\n${usage}`);
    process.exit(2);
  }
  if (parsed.values.help) {
    console.log(usage);
    process.exit(0);
  }
  return parsed.values;
}

export const scratchDir = (what) => mkdtempSync(join(tmpdir(), `lkbuild-bench-${what}-`));

/** Runs a command to completion; resolves with its stdout, rejects with its stderr. */
export function run(cmd, args, { env = {}, timeoutMs = 0, cwd } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env }, cwd });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = timeoutMs ? setTimeout(() => child.kill('SIGKILL'), timeoutMs) : undefined;
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else
        reject(
          new Error(
            `${cmd} ${args.join(' ')} ${signal ? `killed by ${signal}` : `exited ${code}`}: ${err.slice(-2000)}${out.slice(-2000)}`,
          ),
        );
    });
  });
}

/** Seconds of wall time that `fn` takes. */
export async function timed(fn) {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

/** `lkbuild build` of build files (repo-relative or absolute) into `dir`; returns the output base path. */
export async function buildNode(files, dir, extra = []) {
  await run(process.execPath, [cli, 'build', '-o', dir, ...extra, ...files.map((f) => resolve(repo, f))]);
  return join(dir, basename(files[0], extname(files[0])));
}

/**
 * One boot with lk.poweroff=ready (or `append`); resolves with the guest uptimes at the init's
 * start and ready markers (undefined when a marker never came) and the console text.
 * `qemuArgs` go to QEMU itself (after `--`).
 */
export function boot(base, { machine = 'q35', mem, append = 'lk.poweroff=ready', timeoutMs = 240_000, qemuArgs = [] } = {}) {
  const args = [cli, 'run', 'qemu', '--accel', 'tcg', '--machine', machine, '--append', append];
  if (mem) args.push('--mem', String(mem));
  return new Promise((resolve, reject) => {
    const extra = qemuArgs.length > 0 ? ['--', ...qemuArgs] : [];
    const child = spawn(process.execPath, [...args, base, ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('exit', () => {
      clearTimeout(timer);
      const marker = (name) => {
        const m = new RegExp(`lk-init: ${name} uptime=([\\d.]+)`).exec(text);
        return m ? Number(m[1]) : undefined;
      };
      resolve({ start: marker('start'), ready: marker('ready'), text });
    });
  });
}

/**
 * Every output format, as the fewest lists of formats one build can write together (kernel+initrd
 * and kernel+squashfs both write NAME-initrd.img, so they go to two builds), each with the
 * output name to give it: `name`, then `name-2`, ...
 */
export async function formatGroups(name) {
  const { formatNames, outputFormat, clashingFormats } = await import(join(repo, 'builder', 'dist', 'formats', 'index.js'));
  const groups = [];
  for (const f of formatNames) {
    const fits = groups.find((g) => !clashingFormats([...g, f].map(outputFormat)));
    if (fits) fits.push(f);
    else groups.push([f]);
  }
  return groups.map((formats, i) => ({ name: i ? `${name}-${i + 1}` : name, formats }));
}
