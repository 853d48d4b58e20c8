import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Readable } from 'node:stream';
import { withScratch } from '../fs/scratch.js';
import { sha256File } from '../util/sha256-file.js';
import { staged, type AtomicOutputs } from './atomic-output.js';
import { makeFatImage, type FatFile } from './fat.js';
import { ESP_TYPE_GUID, LEGACY_BIOS_BOOTABLE, LINUX_DATA_TYPE_GUID, SECTOR, gptStructures, hashGuid, type GptPartition } from './gpt.js';
import { rootBootContext, withRootImage, type RootImageFile } from './root-image.js';
import type { FormatContext } from './context.js';
import { SYSLINUX_SLACK, installSyslinux, stageSyslinuxFiles } from './syslinux.js';
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
  /** The root partition (--verity), right after the ESP at a MiB boundary. */
  root?: { firstLba: number; lastLba: number };
}

/** The disk: the first MiB, the ESP, the root image's partition if any (rounded up to a MiB), the last MiB; at least `minDiskMiB`. */
export function efiDiskLayout(espMiB: number, minDiskMiB = 0, rootBytes = 0): EfiDiskLayout {
  const espSectors = (espMiB * MIB) / SECTOR;
  const rootFirstLba = ESP_FIRST_LBA + espSectors;
  const rootSpan = Math.ceil(rootBytes / MIB) * (MIB / SECTOR);
  const sectors = Math.max(rootFirstLba + rootSpan + MIB / SECTOR, (minDiskMiB * MIB) / SECTOR);
  const root = rootBytes > 0 ? { firstLba: rootFirstLba, lastLba: rootFirstLba + rootBytes / SECTOR - 1 } : undefined;
  return { sectors, espFirstLba: ESP_FIRST_LBA, espLastLba: rootFirstLba - 1, ...(root ? { root } : {}) };
}

function* zeros(n: number): Generator<Buffer> {
  const chunk = Buffer.alloc(Math.min(n, MIB));
  while (n > 0) {
    const k = Math.min(n, chunk.length);
    yield k === chunk.length ? chunk : chunk.subarray(0, k);
    n -= k;
  }
}

/** Options of the EFI disk: with `bios`, the aws format's disk that legacy BIOS boots too. */
export interface EfiDiskOptions {
  /** Which format is being written, for error messages. */
  format: string;
  minDiskMiB?: number;
  /**
   * Legacy BIOS boots the same disk: the ESP also holds the kernel, the initrd and syslinux.cfg
   * at its root with syslinux installed into it, `mbrCode` (syslinux's gptmbr.bin) is the
   * protective MBR's boot code, and the ESP is marked legacy BIOS bootable, the partition
   * gptmbr.bin starts.
   */
  bios?: { mbrCode: Buffer };
}

/** The ESP's files (the UKI, and for BIOS the syslinux files) and the bytes they take. */
async function espFiles(ctx: FormatContext, dir: string, o: EfiDiskOptions): Promise<{ files: FatFile[]; bytes: number; ukiHash: Buffer }> {
  const uki = await stageUki(ctx, join(dir, 'BOOTX64.EFI'), o.format);
  const files: FatFile[] = [{ source: uki, dest: 'EFI/BOOT/BOOTX64.EFI' }];
  if (o.bios) files.push(...(await stageSyslinuxFiles(ctx, dir, o.format)));
  let bytes = o.bios ? SYSLINUX_SLACK : 0;
  for (const f of files) bytes += (await stat(f.source)).size;
  return { files, bytes, ukiHash: await sha256File(uki) };
}

/**
 * The raw-efi disk, and with `bios` the same disk made bootable by legacy BIOS too (the aws
 * format). With --verity the disk gets a second partition holding the root image and its hash
 * tree, and boots the small initrd with a command line naming that partition and the root hash.
 */
export async function writeEfiDisk(ctx: FormatContext, outputs: AtomicOutputs, path: string, o: EfiDiskOptions): Promise<void> {
  if (!ctx.verity) return writeDisk(ctx, outputs, path, o);
  await withRootImage(ctx, o.format, async (root) => {
    const partUuid = rootPartitionGuid(root);
    const boot = rootBootContext(ctx, o.format, `PARTUUID=${partUuid.toLowerCase()}`, root);
    await writeDisk(boot, outputs, path, o, { root, partUuid });
  });
}

/** The root partition's GUID (its PARTUUID): from the root hash, which covers every byte of the image. */
export function rootPartitionGuid(root: RootImageFile): string {
  if (!root.verity) throw new Error('internal: a root partition without its dm-verity tree');
  return hashGuid('lkbuild root partition', root.verity.rootHash);
}

async function writeDisk(
  ctx: FormatContext,
  outputs: AtomicOutputs,
  path: string,
  o: EfiDiskOptions,
  rootPart?: { root: RootImageFile; partUuid: string },
): Promise<void> {
  const name = basename(ctx.base);
  await withScratch(async (dir) => {
    const { files, bytes, ukiHash } = await espFiles(ctx, dir, o);
    // The GUIDs of a hybrid disk differ from the plain one's: another disk, another identity.
    const id = (what: string) => hashGuid(what, name, ukiHash, ...(o.bios ? ['hybrid bios'] : []));
    const espMiB = espSizeMiB(bytes);
    const layout = efiDiskLayout(espMiB, o.minDiskMiB ?? 0, rootPart?.root.bytes ?? 0);
    const esp = join(dir, 'esp.img');
    const fat = await makeFatImage(esp, {
      format: o.format,
      files,
      volumeId: parseInt(id('lkbuild fat volume id').slice(0, 8), 16),
      label: 'LKBUILD-ESP',
      sourceDateEpoch: ctx.sourceDateEpoch,
      hiddenSectors: layout.espFirstLba,
      geometry: { sizeKiB: espMiB * 1024, fatBits: 32, sectorsPerCluster: 1 },
    });
    if (o.bios) await installSyslinux(esp, fat, o.format, ctx.sourceDateEpoch);
    const espSpan = layout.espLastLba - layout.espFirstLba + 1;
    if (fat.sectors !== espSpan) throw new Error(`internal: a ${fat.sectors}-sector ESP for a ${espSpan}-sector partition`);

    const partitions: GptPartition[] = [
      {
        typeGuid: ESP_TYPE_GUID,
        guid: id('lkbuild esp'),
        firstLba: layout.espFirstLba,
        lastLba: layout.espLastLba,
        name: 'EFI System Partition',
        ...(o.bios ? { attributes: LEGACY_BIOS_BOOTABLE } : {}),
      },
    ];
    if (rootPart && layout.root)
      partitions.push({ typeGuid: LINUX_DATA_TYPE_GUID, guid: rootPart.partUuid, ...layout.root, name: 'lkbuild root' });
    const gpt = gptStructures({
      sectors: layout.sectors,
      diskGuid: id('lkbuild disk'),
      bootCode: o.bios?.mbrCode.subarray(0, 440),
      partitions,
    });
    async function* disk(): AsyncGenerator<Buffer> {
      yield gpt.head;
      yield* zeros(layout.espFirstLba * SECTOR - gpt.head.length);
      for await (const c of createReadStream(esp)) yield c as Buffer;
      let at = (layout.espLastLba + 1) * SECTOR;
      if (rootPart) {
        for await (const c of createReadStream(rootPart.root.path)) yield c as Buffer;
        at += rootPart.root.bytes;
      }
      yield* zeros(layout.sectors * SECTOR - gpt.tail.length - at);
      yield gpt.tail;
    }
    await outputs.write(path, Readable.from(disk()));
  });
}

/** Writes the raw EFI disk, at least `minDiskMiB` large, to a scratch path for `format`, which is derived from it; returns the path. */
export async function stageRawEfi(ctx: FormatContext, path: string, format: string, minDiskMiB = 0): Promise<string> {
  await staged((outputs) => writeEfiDisk(ctx, outputs, path, { format, minDiskMiB }));
  return path;
}

/** The raw-efi format: NAME-efi.img. */
export async function writeRawEfi(ctx: FormatContext, path: string): Promise<void> {
  await writeEfiDisk(ctx, ctx.outputs, path, { format: 'raw-efi' });
}
