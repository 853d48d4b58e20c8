import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { execa } from 'execa';
import { beforeAll, describe, expect, test } from 'vitest';
import { parsePe, peChecksum } from '../builder/src/formats/pe.js';
import { ESP_TYPE_GUID } from '../builder/src/formats/gpt.js';
import { prepareQemu } from '../builder/src/run/qemu.js';
import { boot, buildCase, markers } from './harness.js';
import { expectHelloBoot } from './format-checks.js';

/**
 * The EFI formats, built once with all five and once more to compare bytes, checked with the
 * tools that read them (sgdisk, mtools, qemu-img, objdump) and booted under QEMU with OVMF.
 * The case's kernel.cmdline carries lk.poweroff=ready: disks cannot take an extra command line.
 */
const FORMATS = ['uki', 'raw-efi', 'qcow2', 'vmdk', 'vhd'];
const MiB = 1024 * 1024;

const files = (base: string) => ({
  uki: `${base}.efi`,
  'raw-efi': `${base}-efi.img`,
  qcow2: `${base}.qcow2`,
  vmdk: `${base}.vmdk`,
  vhd: `${base}.vhd`,
});

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

/** A fixed VHD has only a footer, so qemu-img cannot probe it: the format is always named. */
async function qemuImgInfo(path: string, format: string): Promise<Record<string, unknown>> {
  return JSON.parse((await execa('qemu-img', ['info', '-f', format, '--output=json', path])).stdout) as Record<string, unknown>;
}

describe('EFI formats', () => {
  let first: ReturnType<typeof files>;
  let second: ReturnType<typeof files>;

  beforeAll(async () => {
    first = files(await buildCase('formats-efi', FORMATS));
    second = files(await buildCase('formats-efi', FORMATS));
  }, 600_000);

  test('every format is written, with its size', async () => {
    const sizes: Record<string, number> = {};
    for (const [f, path] of Object.entries(first)) sizes[f] = (await stat(path)).size;
    console.log('EFI format sizes (bytes):', JSON.stringify(sizes));
    expect(sizes['raw-efi']! % MiB).toBe(0);
    expect(sizes['raw-efi']).toBeGreaterThanOrEqual(42 * MiB);
    // A fixed VHD is the raw disk plus a 512-byte footer.
    expect(sizes.vhd).toBe(sizes['raw-efi']! + 512);
  });

  test('a second build gives byte-identical files', async () => {
    for (const f of FORMATS) {
      const k = f as keyof typeof first;
      expect(await sha256(second[k]), f).toBe(await sha256(first[k]));
    }
  });

  test('UKI: stub plus .osrel, .cmdline, .linux, .initrd; timestamp from SOURCE_DATE_EPOCH; checksum verifies', async () => {
    const uki = await readFile(first.uki);
    const pe = parsePe(uki);
    const names = pe.sections.map((s) => s.name);
    expect(names.slice(-4)).toEqual(['.osrel', '.cmdline', '.linux', '.initrd']);
    expect(names).toContain('.sdmagic'); // systemd's stub
    expect(pe.timestamp).toBe(0); // SOURCE_DATE_EPOCH unset
    expect(pe.checksum).not.toBe(0);
    expect(peChecksum(uki)).toBe(pe.checksum);
    const section = (n: string) => {
      const s = pe.sections.find((x) => x.name === n)!;
      return uki.subarray(s.pointerToRawData, s.pointerToRawData + s.virtualSize);
    };
    expect(section('.cmdline').toString()).toBe('console=ttyS0 lk.poweroff=ready');
    expect(section('.osrel').toString()).toContain('ID=lkbuild\n');
    expect(section('.linux').toString('latin1', 0x202, 0x206)).toBe('HdrS'); // a bzImage
    expect(section('.initrd').subarray(0, 2).toString('hex')).toBe('1f8b'); // gzip'd cpio
    // objdump agrees on where the sections are.
    const { stdout } = await execa('objdump', ['-h', first.uki]);
    const linux = pe.sections.find((x) => x.name === '.linux')!;
    expect(stdout).toMatch(new RegExp(`\\.linux\\s+0*${linux.virtualSize.toString(16)}\\s+0*${linux.virtualAddress.toString(16)}\\s`));
  });

  test('raw-efi: sgdisk finds a valid GPT with one EFI System Partition at 1 MiB', async () => {
    const v = await execa('sgdisk', ['-v', first['raw-efi']]);
    expect(v.stdout).toContain('No problems found');
    expect(v.stdout).not.toMatch(/Invalid CRC|ERROR/);
    const p = await execa('sgdisk', ['-p', first['raw-efi']]);
    const diskGuid = /Disk identifier \(GUID\): (\S+)/.exec(p.stdout)?.[1];
    expect(diskGuid).toMatch(/^[0-9A-F]{8}-[0-9A-F]{4}-8[0-9A-F]{3}-[89AB][0-9A-F]{3}-[0-9A-F]{12}$/);
    expect(p.stdout).toContain('Partition table holds up to 128 entries');
    expect(p.stdout).toMatch(/^\s+1\s+2048\s+\d+\s+[\d.]+ MiB\s+EF00\s+EFI System Partition$/m);
    const i = await execa('sgdisk', ['-i', '1', first['raw-efi']]);
    expect(i.stdout).toContain(`Partition GUID code: ${ESP_TYPE_GUID} (EFI system partition)`);
    expect(i.stdout).toContain('First sector: 2048 ');
    expect(i.stdout).toContain("Partition name: 'EFI System Partition'");
    // The second build's GUIDs are the same: derived, not random.
    expect((await execa('sgdisk', ['-p', second['raw-efi']])).stdout).toContain(`Disk identifier (GUID): ${diskGuid}`);
  });

  test('raw-efi: the ESP is FAT32 and holds the UKI as EFI/BOOT/BOOTX64.EFI', async () => {
    const img = `${first['raw-efi']}@@1M`;
    const env = { MTOOLS_SKIP_CHECK: '1', TZ: 'UTC' };
    const info = await execa('minfo', ['-i', img, '::'], { env });
    expect(info.stdout).toMatch(/disk type="FAT32/);
    expect(info.stdout).toMatch(/serial number: [0-9A-F]{8}/);
    const dir = await execa('mdir', ['-i', img, '::EFI/BOOT'], { env });
    const ukiSize = (await stat(first.uki)).size;
    expect(dir.stdout).toMatch(new RegExp(`BOOTX64\\s+EFI\\s+${ukiSize}\\s+1980-01-01`)); // SOURCE_DATE_EPOCH 0 clamps to FAT's 1980
    const copied = await execa('mtype', ['-i', img, '::EFI/BOOT/BOOTX64.EFI'], { env, encoding: 'buffer' });
    expect(createHash('sha256').update(copied.stdout).digest('hex')).toBe(await sha256(first.uki));
  });

  test('qcow2, vmdk, vhd: qemu-img reads them as the raw disk, and finds no errors', async () => {
    const raw = (await stat(first['raw-efi'])).size;
    for (const [f, fmt] of [
      ['qcow2', 'qcow2'],
      ['vmdk', 'vmdk'],
      ['vhd', 'vpc'],
    ] as const) {
      const info = await qemuImgInfo(first[f], fmt);
      expect(info.format, f).toBe(fmt);
      if (f !== 'vhd') {
        // qcow2 and VMDK have headers: qemu-img recognises them unaided.
        const probed = JSON.parse((await execa('qemu-img', ['info', '--output=json', first[f]])).stdout) as Record<string, unknown>;
        expect(probed.format, f).toBe(fmt);
      }
      expect(info['virtual-size'], f).toBe(raw);
      // The converted disk has the same contents as the raw one.
      const cmp = await execa('qemu-img', ['compare', '-f', 'raw', '-F', fmt, first['raw-efi'], first[f]], { reject: false });
      expect(cmp.exitCode, `${f}: ${cmp.stdout}`).toBe(0);
      if (f !== 'vhd') {
        const check = await execa('qemu-img', ['check', '-f', fmt, first[f]], { reject: false });
        expect(check.exitCode, `${f}: ${check.stdout}${check.stderr}`).toBe(0);
        expect(check.stdout).toContain('No errors were found');
      }
    }
    const vhd = await readFile(first.vhd);
    const footer = vhd.subarray(vhd.length - 512);
    expect(footer.toString('latin1', 0, 8)).toBe('conectix');
    expect(footer.readUInt32BE(60)).toBe(2); // disk type: fixed
    expect(Number(footer.readBigUInt64BE(48))).toBe(raw); // current size
    expect(footer.readUInt32BE(24)).toBe(0); // timestamp: SOURCE_DATE_EPOCH 0 is before 2000, clamped
    const zeroed = Buffer.from(footer);
    zeroed.writeUInt32BE(0, 64);
    expect(footer.readUInt32BE(64)).toBe(~zeroed.reduce((a, b) => a + b, 0) >>> 0);
    const cid = /\nCID=([0-9a-f]{8})\n/.exec((await readFile(first.vmdk)).subarray(0, 4096).toString('latin1'))?.[1];
    expect(cid).toMatch(/^[0-9a-f]{8}$/);
  });

  test('uki with an extra command line: the stub boots the built-in one plus the extra', async () => {
    const r = await boot(first.uki, { append: 'lk.efi-test=extra', timeoutMs: 180_000 });
    expect(r.timedOut, r.output).toBe(false);
    expect(r.output).toContain('Command line: console=ttyS0 lk.poweroff=ready lk.efi-test=extra');
    expect(markers(r.output).map((x) => x.event)).toContain('ready');
  }, 200_000);

  test('a disk refuses an extra command line, naming where it belongs', async () => {
    await expect(prepareQemu({ base: first.qcow2, append: 'lk.x=1', accel: 'tcg' })).rejects.toThrow(
      /boots with the command line it was built with/,
    );
    await expect(prepareQemu({ base: `${first.qcow2}.missing.vhd`, accel: 'tcg' })).rejects.toMatchObject({
      hint: 'build it first: lkbuild build -f vhd <file>.yml',
    });
  });

  const bootTimes: Record<string, number> = {};
  for (const f of FORMATS) {
    test(`${f} boots under OVMF: the init is ready and the onboot container ran`, async () => {
      const started = Date.now();
      const r = await boot(first[f as keyof typeof first], { append: '', timeoutMs: 180_000 });
      bootTimes[f] = Date.now() - started;
      console.log(`boot ${f}: ${bootTimes[f]} ms`);
      expectHelloBoot(r);
      expect(r.output).toMatch(/^\[\s*[\d.]+\] efi: EFI v/m); // booted through UEFI firmware
      expect(r.output).toContain('Command line: console=ttyS0 lk.poweroff=ready');
      expect(r.output).toMatch(/efi-onboot-marker pid=1\b/);
    }, 200_000);
  }
});
