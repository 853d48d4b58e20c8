#!/usr/bin/env node
// A long fuzzing run of lk-run's config reader (libFuzzer, ASan, UBSan), to run by hand; CI runs
// the same target for 60 s (.ci/run). Needs clang and libclang-rt-14-dev (scripts/install-deps.sh).
// The corpus grows in lk-run/build/fuzz/corpus and is reused by the next run; a failing input is
// left as lk-run/build/fuzz/crash-* (reproduce: lk-run/build/fuzz/config <file>).
// Prints the runs done and the final line `fuzz: ok` or `fuzz: FAILED`.
// Usage: node bench/fuzz/run.mjs [--seconds 1800]
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const { values } = parseArgs({ options: { seconds: { type: 'string', default: '1800' } } });
const seconds = Number(values.seconds);
if (!Number.isInteger(seconds) || seconds <= 0) {
  console.error('usage: node bench/fuzz/run.mjs [--seconds N] (a positive integer)');
  process.exit(2);
}
const r = spawnSync('make', ['-s', '-C', join(repo, 'lk-run'), 'fuzz', `FUZZ_SECONDS=${seconds}`], { stdio: 'inherit' });
const failed = Boolean(r.error) || r.status !== 0;
console.log(`fuzz: ${failed ? 'FAILED' : 'ok'} (${seconds} s)`);
process.exit(failed ? 1 : 0);
