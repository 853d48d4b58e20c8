// The module choice on a real modules.dep: Debian's pinned cloud kernel package (fetched and
// verified by the builder's Debian code into the shared cache), unpacked and indexed by depmod.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultCacheDir } from '../../builder/src/oci/layout.js';
import { debDataEntries, fetchPackage, resolvePackages } from '../../builder/src/pkg/debian/index.js';
import { extractEntries } from '../../builder/src/pkg/extract-to-dir.js';
import { moduleIndex, parseModuleList, selectModules } from './module-set.mjs';

type Index = ReturnType<typeof moduleIndex>;
const names = (paths: string[]) => paths.map((p) => p.slice(p.lastIndexOf('/') + 1, -'.ko'.length).replace(/-/g, '_')).sort();

async function* modulesOnly(entries: AsyncIterable<{ header: { name: string }; stream: NodeJS.ReadableStream }>) {
  for await (const e of entries) {
    if (/^\.?\/?lib\/modules\//.test(e.header.name)) yield e;
    else e.stream.resume();
  }
}

describe('kernel-debian module choice (the pinned package)', () => {
  let root: string;
  let index: Index;
  let lists: ReturnType<typeof parseModuleList>;

  beforeAll(async () => {
    const recipe = parse(await readFile(join(import.meta.dirname, 'build.yml'), 'utf8'));
    const cacheDir = join(defaultCacheDir(), 'debian');
    const [pkg] = await resolvePackages(recipe.packages, { cacheDir, exclude: recipe.exclude });
    root = await mkdtemp(join(tmpdir(), 'lk-kernel-debian-'));
    await extractEntries(root, modulesOnly(debDataEntries(await fetchPackage(pkg!, { cacheDir }))), pkg!.filename);
    const [release] = await readdir(join(root, 'lib/modules'));
    execFileSync('/usr/sbin/depmod', ['--basedir', root, release!]);
    const read = (name: string) => readFile(join(root, 'lib/modules', release!, name), 'utf8');
    index = moduleIndex({ dep: await read('modules.dep'), alias: await read('modules.alias'), builtin: await read('modules.builtin') });
    lists = parseModuleList(await readFile(join(import.meta.dirname, 'modules.yml'), 'utf8'));
  }, 300_000);
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('ships a module with everything it depends on, and nothing else', () => {
    // virtio_net 6.1: virtio, virtio_ring and net_failover, which needs failover.
    expect(names(selectModules(index, ['virtio_net']).paths)).toEqual(['failover', 'net_failover', 'virtio', 'virtio_net', 'virtio_ring']);
    expect(names(selectModules(index, ['vfat']).paths)).toEqual(['fat', 'vfat']);
    expect(names(selectModules(index, ['isofs', 'virtio_scsi']).paths)).toEqual([
      'cdrom',
      'isofs',
      'scsi_common',
      'scsi_mod',
      'virtio',
      'virtio_ring',
      'virtio_scsi',
    ]);
  });

  it('takes aliases and dashes as the init does', () => {
    expect(names(selectModules(index, ['fs-iso9660']).paths)).toEqual(['cdrom', 'isofs']);
    expect(names(selectModules(index, ['nls-cp437']).paths)).toEqual(['nls_cp437']);
  });

  it('reports built-in names apart, and names it cannot find', () => {
    const chosen = selectModules(index, ['ext4', 'nvme', 'e1000', 'no_such_module']);
    expect(chosen.paths).toEqual([]);
    expect(chosen.builtin).toEqual(['ext4', 'nvme']);
    // Debian's cloud kernel has no e1000 at all.
    expect(chosen.unknown).toEqual(['e1000', 'no_such_module']);
  });

  it("modules.yml's lists are all found, and their closure is what the image ships", () => {
    const chosen = selectModules(index, [...lists.devices, ...lists.boot, ...lists.extra]);
    expect(chosen.unknown).toEqual([]);
    expect(chosen.builtin).toEqual([]);
    const shipped = new Set(names(chosen.paths));
    for (const name of [...lists.devices, ...lists.boot, ...lists.extra]) expect(shipped).toContain(name);
    // A few of the 1,121 the package has, which none of them needs.
    for (const name of ['xfs', 'btrfs', 'vmxnet3', 'hv_netvsc']) expect(shipped).not.toContain(name);
  });
});

describe('modules.yml parsing', () => {
  it('normalises names and takes missing lists as empty', () => {
    expect(parseModuleList('boot: [virtio-net]\n')).toEqual({ devices: [], boot: ['virtio_net'], extra: [] });
  });

  it('refuses unknown keys and non-names, naming them', () => {
    expect(() => parseModuleList('bot: [x]\n', 'm.yml')).toThrow('m.yml: unknown key "bot"');
    expect(() => parseModuleList('boot: [a, {b: 1}]\n', 'm.yml')).toThrow('m.yml: boot: {"b":1} is not a list of module names');
    expect(() => parseModuleList('boot: virtio\n', 'm.yml')).toThrow('m.yml: boot: "virtio" is not a list of module names');
    expect(() => parseModuleList('- a\n', 'm.yml')).toThrow('m.yml: expected a mapping');
  });
});
