// What the benchmarks share: the repo's paths, running the real CLI, booting a built node under
// QEMU and reading the init's console markers, medians, and the summary lines `npm run bench`
// collects (`<bench> <key> <figure>`, one figure each, so a script can read them).
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
export const cli = join(repo, 'builder', 'bin', 'lkbuild.js');

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Prints one summary line; `npm run bench` picks these out of each benchmark's output. */
export function summary(bench, key, figure) {
  console.log(`${bench} ${key} ${figure}`);
}

export const scratchDir = (what) => mkdtempSync(join(tmpdir(), `lkbuild-bench-${what}-`));

/** Runs a command to completion; resolves with its stdout, rejects with its stderr. */
export function run(cmd, args, { env = {}, timeoutMs = 0 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
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
 */
export function boot(base, { machine = 'q35', mem, append = 'lk.poweroff=ready', timeoutMs = 240_000 } = {}) {
  const args = [cli, 'run', 'qemu', '--accel', 'tcg', '--machine', machine, '--append', append];
  if (mem) args.push('--mem', String(mem));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, base], { stdio: ['ignore', 'pipe', 'pipe'] });
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
