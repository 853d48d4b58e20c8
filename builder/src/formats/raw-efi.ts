import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { AtomicOutputs } from './atomic-output.js';
import { fatEpoch, runTool, stageKernelInitrd } from './host-tools.js';
import { withScratch } from '../fs/scratch.js';
import { ESP_TYPE_GUID, LEGACY_BIOS_BOOTABLE, SECTOR, gptStructures, hashGuid } from './gpt.js';
import type { FormatContext } from './context.js';
import { stageUki } from './uki.js';

/**
 * raw-efi: a GPT disk with one EFI System Partition (FAT32) holding the node's UKI as
 * EFI/BOOT/BOOTX64.EFI, the path UEFI firmware boots from removable and new disks.
 *
 * Layout in MiB: [0,1) protective MBR, GPT and alignment; [1, 1+esp) the ESP; the last MiB
 * ends with the backup GPT. The disk is therefore a whole number of MiB (as Azure's VHDs must be).
 * The GUIDs and the FAT volume id are hashes of the output name and the UKI's contents, and
 * every FAT timestamp is SOURCE_DATE_EPOCH: the same inputs give the same bytes.
 */

const MIB = 1024 * 1024;
export const ESP_FIRST_LBA = MIB / SECTOR;
/** FAT32 with 512-byte clusters needs at least 65525 clusters: 40 MiB leaves room for the FATs. */
export const MIN_ESP_MIB = 40;

export function espSizeMiB(ukiBytes: number): number {
  // FAT32 with one-sector clusters spends 2 x 4 bytes per 512 (two FATs): about 1.6 %, plus slack.
  return Math.max(MIN_ESP_MIB, Math.ceil((ukiBytes * 1.02) / MIB) + 2);
}

export interface EfiDiskLayout {
  sectors: number;
  espFirstLba: number;
  espLastLba: number;
}

export function efiDiskLayout(espMiB: number, minDiskMiB = 0): EfiDiskLayout {
  const espSectors = (espMiB * MIB) / SECTOR;
  const sectors = Math.max(ESP_FIRST_LBA + espSectors + MIB / SECTOR, (minDiskMiB * MIB) / SECTOR);
  return { sectors, espFirstLba: ESP_FIRST_LBA, espLastLba: ESP_FIRST_LBA + espSectors - 1 };
}

async function sha256File(path: string): Promise<Buffer> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest();
}

function* zeros(n: number): Generator<Buffer> {
  const chunk = Buffer.alloc(Math.min(n, MIB));
  while (n > 0) {
    const k = Math.min(n, chunk.length);
    yield k === chunk.length ? chunk : chunk.subarray(0, k);
    n -= k;
  }
}

/**
 * What the ESP holds besides the UKI so that legacy BIOS boots the same disk: the kernel, the
 * initrd and syslinux.cfg at its root, syslinux installed into it (ldlinux.sys, ldlinux.c32 and
 * its boot sector), `mbrCode` (syslinux's gptmbr.bin) as the protective MBR's boot code and the
 * ESP marked legacy BIOS bootable, the partition gptmbr.bin starts.
 */
export interface HybridBios {
  mbrCode: Buffer;
  syslinuxCfg: string;
}

export interface EfiDiskOptions {
  /** Which format is being written, for error messages. */
  format?: string;
  minDiskMiB?: number;
  bios?: HybridBios;
}

/**
 * FAT32 keeps a backup of its boot sector (at the sector the BPB names, 6 by mkfs.vfat); syslinux
 * writes its boot code into the primary only, which fsck.fat reports as a difference: copy it over.
 */
async function copyBootSectorToBackup(image: string): Promise<void> {
  const f = await open(image, 'r+');
  try {
    const bs = Buffer.alloc(SECTOR);
    await f.read(bs, 0, SECTOR, 0);
    const backup = bs.readUInt16LE(50);
    if (backup === 0 || backup === 0xffff) return;
    await f.write(bs, 0, SECTOR, backup * SECTOR);
  } finally {
    await f.close();
  }
}

/** Writes the raw EFI disk, at least `minDiskMiB` large, to `path` through `outputs`. */
export async function writeRawEfiTo(ctx: FormatContext, outputs: AtomicOutputs, path: string, format = 'raw-efi', minDiskMiB = 0): Promise<void> {
  await writeEfiDisk(ctx, outputs, path, { format, minDiskMiB });
}

/** The raw-efi disk, and with `bios` the same disk made bootable by legacy BIOS too (the aws format). */
export async function writeEfiDisk(ctx: FormatContext, outputs: AtomicOutputs, path: string, o: EfiDiskOptions = {}): Promise<void> {
  const format = o.format ?? 'raw-efi';
  const name = basename(ctx.base);
  await withScratch(async (dir) => {
    const uki = await stageUki(ctx, join(dir, 'BOOTX64.EFI'));
    const ukiHash = await sha256File(uki);
    // The GUIDs of a hybrid disk differ from the plain one's: another disk, another identity.
    const variant = o.bios ? ['hybrid bios'] : [];
    const epoch = fatEpoch(ctx.sourceDateEpoch);
    const rootFiles: Array<{ source: string; dest: string }> = [];
    let contentBytes = (await stat(uki)).size;
    if (o.bios) {
      const { kernel, initrd } = await stageKernelInitrd(ctx, dir, format, epoch);
      const cfg = join(dir, 'syslinux.cfg');
      await writeFile(cfg, o.bios.syslinuxCfg);
      rootFiles.push({ source: kernel, dest: 'kernel' }, { source: initrd, dest: 'initrd.img' }, { source: cfg, dest: 'syslinux.cfg' });
      for (const f of rootFiles) contentBytes += (await stat(f.source)).size;
      contentBytes += 512 * 1024; // ldlinux.sys and ldlinux.c32
    }
    const espMiB = espSizeMiB(contentBytes);
    const layout = efiDiskLayout(espMiB, o.minDiskMiB ?? 0);

    const esp = join(dir, 'esp.img');
    const volumeId = hashGuid('lkbuild fat volume id', name, ukiHash, ...variant).slice(0, 8);
    const env = { SOURCE_DATE_EPOCH: String(epoch), MTOOLS_SKIP_CHECK: '1' };
    // --invariant: no time-based or random values; -h: the partition's offset on the disk.
    await runTool(
      'mkfs.vfat',
      ['-C', '--invariant', '-i', volumeId, '-n', 'LKBUILD-ESP', '-F', '32', '-S', '512', '-s', '1', '-h', String(layout.espFirstLba), esp, String(espMiB * 1024)],
      { format, env },
    );
    await runTool('mmd', ['-i', esp, '::EFI', '::EFI/BOOT'], { format, env });
    await runTool('mcopy', ['-i', esp, uki, '::EFI/BOOT/BOOTX64.EFI'], { format, env });
    for (const f of rootFiles) await runTool('mcopy', ['-i', esp, f.source, `::/${f.dest}`], { format, env });
    // syslinux writes ldlinux.sys and ldlinux.c32 through mtools (dated SOURCE_DATE_EPOCH) and
    // its boot code into the ESP's boot sector, keeping the BPB (hidden sectors = the ESP's LBA).
    if (o.bios) {
      await runTool('syslinux', ['--install', esp], { format, env });
      await copyBootSectorToBackup(esp);
    }

    const gpt = gptStructures({
      sectors: layout.sectors,
      diskGuid: hashGuid('lkbuild disk', name, ukiHash, ...variant),
      bootCode: o.bios?.mbrCode.subarray(0, 440),
      partitions: [
        {
          typeGuid: ESP_TYPE_GUID,
          guid: hashGuid('lkbuild esp', name, ukiHash, ...variant),
          firstLba: layout.espFirstLba,
          lastLba: layout.espLastLba,
          name: 'EFI System Partition',
          ...(o.bios ? { attributes: LEGACY_BIOS_BOOTABLE } : {}),
        },
      ],
    });
    const espBytes = (await stat(esp)).size;
    const espSpan = (layout.espLastLba - layout.espFirstLba + 1) * SECTOR;
    if (espBytes !== espSpan) throw new Error(`internal: mkfs.vfat made ${espBytes} bytes for a ${espSpan}-byte partition`);
    async function* disk(): AsyncGenerator<Buffer> {
      yield gpt.head;
      yield* zeros(layout.espFirstLba * SECTOR - gpt.head.length);
      for await (const c of createReadStream(esp)) yield c as Buffer;
      yield* zeros((layout.sectors - layout.espLastLba - 1) * SECTOR - gpt.tail.length);
      yield gpt.tail;
    }
    await outputs.write(path, Readable.from(disk()));
  });
}

/** Writes the raw EFI disk to a scratch path (for the formats derived from it) and returns the path. */
export async function stageRawEfi(ctx: FormatContext, path: string, format: string, minDiskMiB = 0): Promise<string> {
  const staging = new AtomicOutputs();
  try {
    await writeRawEfiTo(ctx, staging, path, format, minDiskMiB);
    await staging.commit();
  } catch (e) {
    await staging.abort();
    throw e;
  }
  return path;
}

/** The raw-efi format: NAME-efi.img. */
export async function writeRawEfi(ctx: FormatContext, path: string): Promise<void> {
  await writeRawEfiTo(ctx, ctx.outputs, path);
}
