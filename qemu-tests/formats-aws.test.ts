import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { bootTarget } from '../builder/src/run/qemu.js';
import { boot, bootQemuArgs, buildCase, type BootResult } from './harness.js';
import { expectHelloBoot } from './format-checks.js';

/**
 * The aws format: NAME.raw, one GPT disk that boots with legacy BIOS (gptmbr.bin starts syslinux
 * in the ESP marked legacy BIOS bootable) and with UEFI (the UKI as EFI/BOOT/BOOTX64.EFI). The
 * same file boots under SeaBIOS and OVMF, and through `lkbuild run qemu` (OVMF, virtio disk).
 */
const cmdline = 'console=ttyS0 lk.poweroff=ready';
/** /proc/cmdline starts with the kernel's built-in words (kernel-config/90-percpu.config). */
const BUILTIN = ['percpu_alloc=page'];
const ONBOOT = /formats-aws-onboot-marker cmdline=(\S+)/;
const MiB = 1024 * 1024;

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

describe('aws format', () => {
  let base: string;
  let base2: string;
  let scratch: string;
  const boots: Record<string, BootResult & { elapsedMs: number }> = {};
  const disk = () => `${base}.raw`;

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'lk-formats-aws-'));
    base = await buildCase('formats-aws', ['aws']);
    base2 = await buildCase('formats-aws', ['aws']);
    const vars = join(scratch, 'OVMF_VARS_4M.fd');
    await copyFile('/usr/share/OVMF/OVMF_VARS_4M.fd', vars);
    const drive = ['-drive', `file=${disk()},format=raw,snapshot=on`];
    const timed = async (f: () => Promise<BootResult>) => {
      const t = Date.now();
      const r = await f();
      return { ...r, elapsedMs: Date.now() - t };
    };
    const [bios, efi, run] = await Promise.all([
      bootQemuArgs(drive, { timeoutMs: 300_000 }),
      bootQemuArgs(
        [
          '-drive',
          'if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd',
          '-drive',
          `if=pflash,format=raw,unit=1,file=${vars}`,
          ...drive,
        ],
        { timeoutMs: 300_000 },
      ),
      timed(() => boot(disk(), { append: '', timeoutMs: 300_000 })),
    ]);
    Object.assign(boots, { seabios: bios, ovmf: efi, 'run qemu': run });
    const size = (await stat(disk())).size;
    for (const [f, r] of Object.entries(boots))
      console.log(`aws ${f}: ${size} bytes, QEMU start to power-off ${(r.elapsedMs / 1000).toFixed(1)} s`);
  }, 900_000);

  afterAll(async () => {
    for (const b of [base, base2]) if (b) await rm(join(b, '..'), { recursive: true, force: true });
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  test('NAME.raw: whole MiB, byte-identical from a second build', async () => {
    const size = (await stat(disk())).size;
    expect(size % MiB).toBe(0);
    expect(size).toBeGreaterThanOrEqual(42 * MiB);
    expect(await sha256(`${base2}.raw`)).toBe(await sha256(disk()));
  });

  test('GPT with the legacy BIOS bootable ESP; gptmbr.bin in the protective MBR', async () => {
    expect((await execa('sgdisk', ['-v', disk()])).stdout).toContain('No problems found');
    expect((await execa('sgdisk', ['-A', '1:show', disk()])).stdout).toMatch(/^1:2:1 \(legacy BIOS bootable\)$/m);
    const head = (await readFile(disk())).subarray(0, 440);
    expect(head.equals(await readFile('/usr/lib/syslinux/mbr/gptmbr.bin'))).toBe(true);
  });

  test('lkbuild run qemu boots NAME.raw as a disk with OVMF', () => {
    expect(bootTarget('/o/n.raw')).toEqual({ kind: 'disk', path: '/o/n.raw', format: 'raw', firmware: 'efi', output: 'aws' });
  });

  for (const f of ['seabios', 'ovmf', 'run qemu']) {
    test(`${f}: ready, the onboot container ran, powered off`, () => {
      expectHelloBoot(boots[f]!);
    });
  }

  test('/proc/cmdline: syslinux under SeaBIOS (no EFI), the UKI as is under OVMF', () => {
    const got = (f: string) => ONBOOT.exec(boots[f]!.output)?.[1]?.split(',');
    expect(got('seabios')).toEqual([...BUILTIN, 'BOOT_IMAGE=/kernel', ...cmdline.split(' '), 'initrd=/initrd.img']);
    expect(boots.seabios!.output).not.toMatch(/efi: EFI v/);
    expect(got('ovmf')).toEqual([...BUILTIN, ...cmdline.split(' ')]);
    expect(boots.ovmf!.output).toMatch(/efi: EFI v[\d.]+ by EDK II/);
    expect(got('run qemu')).toEqual([...BUILTIN, ...cmdline.split(' ')]);
  });
});
