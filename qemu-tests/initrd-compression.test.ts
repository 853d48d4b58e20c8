// The initrd's compressions boot: the default gzip initrd is several gzip members compressed in
// parallel (the kernel must unpack them as one archive), and two builds give the same bytes;
// a zstd initrd boots too. examples/minimal.yml built with the real CLI, booted with
// `lkbuild run qemu`; the init's own markers and the onboot container's output are checked.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { boot, lkbuild, markers } from './harness.js';

const minimal = join(import.meta.dirname, '..', 'examples', 'minimal.yml');

async function buildMinimal(extra: string[] = []): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), 'lk-compression-'));
  const r = await lkbuild(['build', '-o', out, ...extra, minimal], { timeoutMs: 600_000 });
  expect(r.exitCode, r.stderr).toBe(0);
  return join(out, 'minimal');
}

function expectBootedToReady(output: string): void {
  expect(output).not.toMatch(/Initramfs unpacking failed|junk at the end|Kernel panic/);
  expect(output).toContain('hello from an onboot container');
  const events = markers(output).map((m) => m.event);
  expect(events[0]).toBe('start');
  expect(events.indexOf('ready')).toBeGreaterThan(events.indexOf('onboot'));
}

describe('initrd compression', () => {
  test('a gzip initrd of several members boots, and a second build gives the same bytes', async () => {
    const [a, b] = [await buildMinimal(), await buildMinimal(['--compression', 'gzip'])];
    const initrd = await readFile(`${a}-initrd.img`);
    expect(initrd.equals(await readFile(`${b}-initrd.img`))).toBe(true);
    // Node's zlib starts each member with this 10-byte header; minimal's 3 MiB archive makes 3 or more.
    const header = Buffer.from('1f8b0800000000000003', 'hex');
    let members = 0;
    for (let at = initrd.indexOf(header); at >= 0; at = initrd.indexOf(header, at + 1)) members++;
    expect(members).toBeGreaterThanOrEqual(3);
    const r = await boot(a, { timeoutMs: 240_000 });
    expect(r.timedOut, r.output).toBe(false);
    expectBootedToReady(r.output);
  });

  test('a zstd initrd boots', async () => {
    const base = await buildMinimal(['--compression', 'zstd']);
    expect((await readFile(`${base}-initrd.img`)).subarray(0, 4).toString('hex')).toBe('28b52ffd');
    const r = await boot(base, { timeoutMs: 240_000 });
    expect(r.timedOut, r.output).toBe(false);
    expectBootedToReady(r.output);
  });
});
