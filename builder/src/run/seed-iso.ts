import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { writeThenRename } from '../util/atomic-file.js';
import { runTool } from '../util/host-tool.js';

/** Pure: NoCloud's meta-data (YAML) for an instance. */
export function nocloudMetaData(instanceId: string, hostname: string): string {
  return `instance-id: ${instanceId}\nlocal-hostname: ${hostname}\n`;
}

/**
 * Writes a NoCloud seed: an ISO9660 image (Rock Ridge and Joliet names) with volume label
 * `cidata` holding `user-data` and `meta-data`, as cloud-init and LinuxKit's metadata read it.
 * It is built next to `path` and renamed into place.
 */
export async function writeSeedIso(path: string, userData: Buffer, metaData: string): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'lkbuild-seed-'));
  try {
    await writeFile(join(dir, 'user-data'), userData);
    await writeFile(join(dir, 'meta-data'), metaData);
    await writeThenRename(dirname(path), async (partial) => {
      await runTool('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'cidata', '-J', '-R', '-o', partial, dir], { user: 'the NoCloud seed' });
      return path;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
