// format's and mount's answers to bad arguments: exit 2 and one line, before any disk is looked
// at (the disks themselves are tested by booting: qemu-tests/storage.test.ts).
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

const format = join(import.meta.dirname, 'format.sh');
const mount = join(import.meta.dirname, '../mount/mount.sh');
const run = (script: string, ...args: string[]) => execa('/bin/busybox', ['sh', script, ...args], { reject: false });

describe('format arguments', () => {
  it.each([
    [['-type', 'xfs'], 'format: -type xfs: only ext4 is supported'],
    [['-label', 'has space'], "format: -label 'has space': use letters, digits, '.', '_' or '-'"],
    [['-label', 'a-label-of-17-chr'], "format: -label 'a-label-of-17-chr' is longer than ext4's 16 characters"],
    [['-label'], 'format: -label needs a value'],
    [['-force'], 'format: unknown option -force'],
    [['/dev/vda', '/dev/vdb'], 'format: one device at most (got /dev/vda and /dev/vdb)'],
  ])('%j', async (args, line) => {
    const r = await run(format, ...args);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe(line);
    expect(r.stderr).toBe('usage: format [-label LABEL] [-type ext4] [DEVICE]');
  });
});

describe('mount arguments', () => {
  it.each([
    [['var/lib'], "mount: mount point 'var/lib' is not an absolute path"],
    [['-label', ''], 'mount: -label needs a value'],
    [['/a', '/b'], 'mount: one mount point at most (got /a and /b)'],
  ])('%j', async (args, line) => {
    const r = await run(mount, ...args);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe(line);
  });
});
