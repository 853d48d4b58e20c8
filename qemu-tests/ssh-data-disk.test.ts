// Boot test: with a data disk (format + mount at /var/lib), sshd makes its host key on the first
// boot and keeps it there: the second boot from the same disk offers the same key, and dhcpcd
// finds the address it had.
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, type BootResult } from './harness.js';
import { tagged } from './init-helpers.js';

const hostKeyLine = /^lk-sshd: host key (SHA256:\S+)$/m;

describe('sshd host key and DHCP address on the data disk', () => {
  let first: BootResult;
  let second: BootResult;

  beforeAll(async () => {
    const base = await buildCase('ssh-data-disk');
    const disk = join(await mkdtemp(join(tmpdir(), 'lk-ssh-disk-')), 'data.img');
    // sshd writes its lines a moment after it starts: stay up a few seconds after ready.
    const opts = { append: 'lk.console-logs lk.poweroff=ready+8', timeoutMs: 300_000 };
    first = await boot(base, { ...opts, args: ['--disk', `${disk},size=64M`] });
    second = await boot(base, { ...opts, args: ['--disk', disk] });
  }, 900_000);

  test('boot 1 formats the disk and makes the host key on it', () => {
    expect(first.timedOut, first.output).toBe(false);
    expect(first.output).toMatch(/^lk-sshd: generated host key \/var\/lib\/dropbear\/dropbear_ed25519_host_key$/m);
    expect(tagged(first.output, 'LEASE-STATE')).toEqual(['none']);
  });

  test('boot 2 offers the same host key without making one, and dhcpcd knows its last address', () => {
    expect(second.timedOut, second.output).toBe(false);
    expect(second.output).not.toMatch(/lk-sshd: generated host key/);
    const key1 = hostKeyLine.exec(first.output)?.[1];
    expect(key1).toBeDefined();
    expect(hostKeyLine.exec(second.output)?.[1]).toBe(key1);
    expect(tagged(second.output, 'LEASE-STATE')).toEqual(['10.0.2.15']);
  });
});
