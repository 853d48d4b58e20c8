// Boot test: Debian's prebuilt cloud kernel (images/kernel-debian) in place of ours. A
// minimal.yml-like node reaches ready on q35 and on microvm and its services see the Debian
// release; a DHCP node gets its lease through virtio-net, a module here; and every dependency of
// a shipped module is shipped, by kmod's own modinfo.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, markers, type BootResult } from './harness.js';
import { serviceEvents, tagged } from './init-helpers.js';

const recipe = resolve(import.meta.dirname, '../images/kernel-debian');

/** The release the recipe's package installs, from its name (linux-image-<release>=<version>). */
async function pinnedRelease(): Promise<string> {
  const { packages } = parse(await readFile(join(recipe, 'build.yml'), 'utf8')) as { packages: string[] };
  const m = /^linux-image-(.+-cloud-amd64)=/.exec(packages[0]!);
  if (!m) throw new Error(`images/kernel-debian/build.yml: no pinned linux-image package in ${packages.join(' ')}`);
  return m[1]!;
}

function expectReady(r: BootResult): void {
  expect(r.timedOut, r.output).toBe(false);
  expect(r.exitCode, r.output).toBe(0);
  expect(markers(r.output).map((m) => m.event)).toContain('ready');
}

describe('Debian cloud kernel: minimal node', () => {
  let release: string;
  let base: string;
  let q35: BootResult;
  let microvm: BootResult;
  let rootfs: string;

  beforeAll(async () => {
    release = await pinnedRelease();
    base = await buildCase('distro-kernel-minimal', ['kernel+initrd', 'tar']);
    // Services print after they start, and ready only says they started: give them 10 s.
    const append = 'lk.poweroff=ready+10 lk.console-logs';
    q35 = await boot(base, { append, args: ['--networking', 'none'], timeoutMs: 240_000 });
    microvm = await boot(base, { append, args: ['--machine', 'microvm'], timeoutMs: 240_000 });
    rootfs = await mkdtemp(join(tmpdir(), 'lk-distro-kernel-root-'));
    execFileSync('tar', ['-xf', `${base}.tar`, '-C', rootfs, 'lib']);
  }, 900_000);
  afterAll(async () => {
    await rm(rootfs, { recursive: true, force: true });
    await rm(dirname(base), { recursive: true, force: true });
  });

  test('q35: onboot, then both services, then ready; the services run on the Debian kernel', () => {
    expectReady(q35);
    const events = markers(q35.output).map((m) => `${m.event} ${m.name ?? ''}`.trim());
    expect(events.indexOf('onboot hello')).toBeLessThan(events.indexOf('ready'));
    expect(q35.output).toContain('hello from an onboot container');
    expect(
      serviceEvents(q35.output, undefined, 'started')
        .map((e) => e.name)
        .sort(),
    ).toEqual(['second', 'uname']);
    expect(tagged(q35.output, 'SECOND')).toEqual(['up']);
    expect(tagged(q35.output, 'UNAME')).toEqual([release]);
  });

  test('q35: virtio_pci for the PCI device present, virtio_net and isofs from lib/modules-load.d', () => {
    const loaded = tagged(q35.output, 'MOD');
    for (const name of ['virtio_pci', 'virtio_net', 'net_failover', 'isofs', 'overlay']) expect(loaded).toContain(name);
    expect(loaded).not.toContain('virtio_mmio'); // no virtio-mmio device on q35
    expect(loaded).not.toContain('squashfs'); // shipped (`extra`), loaded only on request
    expect(q35.output).not.toMatch(/lk-init: module \S+: /); // no load failed or was missing
  });

  test('microvm: virtio_mmio from the ACPI device, and the node reaches ready on the Debian kernel', () => {
    expectReady(microvm);
    expect(tagged(microvm.output, 'UNAME')).toEqual([release]);
    const loaded = tagged(microvm.output, 'MOD');
    expect(loaded).toContain('virtio_mmio');
    expect(loaded).not.toContain('virtio_pci');
    expect(microvm.output).not.toMatch(/lk-init: module \S+: /);
  });

  test('every dependency of a shipped module is shipped (modinfo -F depends)', async () => {
    const dirs = await readdir(join(rootfs, 'lib/modules'));
    expect(dirs).toEqual([release]);
    const modDir = join(rootfs, 'lib/modules', release);
    const files = (await readdir(modDir, { recursive: true })).filter((f) => f.endsWith('.ko'));
    const shipped = new Set(files.map((f) => f.slice(f.lastIndexOf('/') + 1, -3).replace(/-/g, '_')));
    // modules.yml's 20 names and what they need; Debian's package has 1,121.
    expect(shipped.size).toBeGreaterThan(20);
    expect(shipped.size).toBeLessThan(60);
    const unmet: string[] = [];
    for (const f of files) {
      const depends = execFileSync('modinfo', ['-F', 'depends', join(modDir, f)], { encoding: 'utf8' }).trim();
      for (const dep of depends.split(',').filter(Boolean)) {
        if (!shipped.has(dep.replace(/-/g, '_'))) unmet.push(`${f} needs ${dep}`);
      }
    }
    expect(unmet).toEqual([]);
    expect(shipped).toContain('squashfs');
    const conf = (await readFile(join(rootfs, 'lib/modules-load.d/lkbuild.conf'), 'utf8')).split('\n');
    expect(conf).toContain('virtio_net');
    expect(conf).not.toContain('squashfs');
  });
});

describe('Debian cloud kernel: DHCP node', () => {
  let result: BootResult;

  beforeAll(async () => {
    const base = await buildCase('distro-kernel-dhcp');
    result = await boot(base, { append: 'lk.poweroff=ready lk.console-logs', timeoutMs: 240_000 });
    await rm(dirname(base), { recursive: true, force: true });
  }, 600_000);

  test('virtio-net (a module) gets a lease from QEMU, then the next step sees it', () => {
    expectReady(result);
    expect(result.output).toContain('lk-dhcp: eth0: bound 10.0.2.15/24 router 10.0.2.2 dns 10.0.2.3');
    const steps = markers(result.output).filter((m) => m.event === 'onboot');
    expect(steps.map((m) => `${m.name} ${m.fields.exit}`)).toEqual(['dhcpcd 0', 'report 0']);
    expect(tagged(result.output, 'NET')).toContain('eth0 driver=virtio_net');
    expect(tagged(result.output, 'ADDR')).toContain('10.0.2.15/24');
    expect(tagged(result.output, 'ROUTE').some((r) => r.startsWith('default via 10.0.2.2 dev eth0'))).toBe(true);
    expect(tagged(result.output, 'RESOLV')).toContain('nameserver 10.0.2.3');
  });
});
