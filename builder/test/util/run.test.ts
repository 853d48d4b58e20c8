import { describe, expect, test } from 'vitest';
import { runCaptured } from '../../src/util/run.js';

describe('runCaptured', () => {
  test('feeds input, keeps stdout as bytes (final newline included), stderr, both interleaved, and fd 3', async () => {
    const r = await runCaptured('sh', ['-c', 'cat; echo oops >&2; echo status >&3; exit 3'], { input: 'hello\n', fd3: true });
    expect(r.exitCode).toBe(3);
    expect(r.stdout.toString()).toBe('hello\n');
    expect(r.stderr).toBe('oops\n');
    expect(r.all).toBe('hello\noops\n');
    expect(r.fd3).toBe('status\n');
    expect(r.notInstalled).toBe(false);
    expect(r.failure).toBeUndefined();
  });

  test('a program that is not installed is notInstalled, not an exception', async () => {
    const r = await runCaptured('lkbuild-no-such-program', []);
    expect(r).toMatchObject({ exitCode: undefined, notInstalled: true });
    expect(r.failure).toMatch(/ENOENT/);
  });

  test('gives only the environment asked for when extendEnv is false', async () => {
    const r = await runCaptured('/usr/bin/env', [], { env: { ONLY: 'this' }, extendEnv: false });
    expect(r.stdout.toString()).toBe('ONLY=this\n');
  });

  test('a program that stops reading its input early is not an error; one that runs too long is stopped', async () => {
    const early = await runCaptured('head', ['-c', '1'], { input: Buffer.alloc(8 << 20, 0x61) });
    expect(early).toMatchObject({ exitCode: 0, failure: undefined });
    expect(early.stdout.toString()).toBe('a');
    const slow = await runCaptured('sleep', ['10'], { timeoutMs: 100 });
    expect(slow.timedOut).toBe(true);
    expect(slow.exitCode).toBeUndefined();
    expect(slow.failure).toMatch(/timed out/);
  });

  test('stdin is closed when there is no input, so a program that reads it does not wait', async () => {
    const r = await runCaptured('cat', [], { timeoutMs: 5000 });
    expect(r).toMatchObject({ exitCode: 0, timedOut: false });
  });
});
