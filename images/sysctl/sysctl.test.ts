// The sysctl image's script against a scratch /proc/sys, under busybox's sh as on the node
// (Debian's busybox-static, as in scripts/install-deps.sh).
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

const script = join(import.meta.dirname, 'sysctl.sh');
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'lk-sysctl-'));
  for (const d of ['proc/net/ipv4', 'proc/vm', 'conf']) await mkdir(join(dir, d), { recursive: true });
  await writeFile(join(dir, 'proc/net/ipv4/ip_forward'), '0\n');
  await writeFile(join(dir, 'proc/vm/swappiness'), '60\n');
});
afterEach(() => rm(dir, { recursive: true, force: true }));

const run = () => execa('/bin/busybox', ['sh', script, join(dir, 'conf')], { env: { SYSCTL_ROOT: join(dir, 'proc') }, reject: false });
const value = (p: string) => readFile(join(dir, 'proc', p), 'utf8');

describe('apply-sysctl', () => {
  it('applies every file in name order; comments, blanks and spaces around = are fine', async () => {
    await writeFile(join(dir, 'conf/10-net.conf'), '# routing\nnet.ipv4.ip_forward = 1\n\n; old style comment\nvm.swappiness=10\n');
    await writeFile(join(dir, 'conf/20-later.conf'), '  vm.swappiness =  5  \n');
    await writeFile(join(dir, 'conf/ignored.txt'), 'vm.swappiness = 99\n');
    const r = await run();
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe('sysctl: applied 3 settings from ' + join(dir, 'conf'));
    expect(await value('net/ipv4/ip_forward')).toBe('1\n');
    expect(await value('vm/swappiness')).toBe('5\n');
  });

  it('names the file and line of each bad setting, applies the rest and exits 1', async () => {
    const conf = join(dir, 'conf/50-bad.conf');
    await writeFile(
      conf,
      'vm.swappiness = 1\nno equals sign\nkernel.nonexistent = 3\n-kernel.optional_missing = 1\nnet/ipv4/ip_forward = 1\n',
    );
    const r = await run();
    expect(r.exitCode).toBe(1);
    expect(r.stdout.split('\n')).toEqual([
      `sysctl: ${conf}:2: not 'key = value': no equals sign`,
      `sysctl: ${conf}:3: kernel.nonexistent: no such setting in this kernel`,
      `sysctl: applied 2 settings from ${join(dir, 'conf')}`,
    ]);
    expect(await value('vm/swappiness')).toBe('1\n');
    expect(await value('net/ipv4/ip_forward')).toBe('1\n');
  });

  it('refuses keys that would leave /proc/sys', async () => {
    const conf = join(dir, 'conf/60-escape.conf');
    await writeFile(conf, '../../etc/passwd = x\n');
    const r = await run();
    expect(r.exitCode).toBe(1);
    expect(r.stdout.split('\n')[0]).toBe(`sysctl: ${conf}:1: bad key '../../etc/passwd'`);
  });
});
