import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { formatNames } from '../builder/src/formats/index.js';

/**
 * SOURCE_DATE_EPOCH, honoured by every output format, and the same bytes from two empty caches.
 *
 * examples/node.yml is built with every format three times, each in its own working directory:
 * A and B at 1700000000 from two caches that share nothing but the kernel image, C at
 * 1800000000. Every timestamp of every output is read back with the tool that reads its format
 * (GNU tar and cpio, xorriso, mtools, objdump, skopeo, file) and compared with the literal
 * date; A and B must be byte-identical (every recipe but the kernel built twice from nothing,
 * Debian packages fetched twice); C must differ from A only where timestamps live: the same
 * files of the same sizes with the same listings once the dates are taken out.
 *
 * The kernel is the one the global setup built (SOURCE_DATE_EPOCH 0), exported and imported into
 * each empty cache, so the test does not compile a kernel per cache or epoch; its own build date
 * is checked to be that epoch. bench/repro builds the kernel twice from nothing as well.
 */
const repo = resolve(import.meta.dirname, '..');
const cli = join(repo, 'builder/bin/lkbuild.js');
const KERNEL_REF = 'docker.io/lkbuild-test/kernel:sde';

/** Each epoch's dates as each tool prints them (UTC), written out by hand. */
const DATES = {
  1700000000: {
    full: '2023-11-14 22:13:20',
    day: 'Nov 14  2023',
    fat: '2023-11-14  22:13',
    pe: 'Tue Nov 14 22:13:20 2023',
    pvd: '2023111422132000',
    iso8601: '2023-11-14T22:13:20Z',
    vhd: 753315200, // seconds since 2000-01-01
  },
  1800000000: {
    full: '2027-01-15 08:00:00',
    day: 'Jan 15  2027',
    fat: '2027-01-15   8:00', // mdir pads the hour with a space
    pe: 'Fri Jan 15 08:00:00 2027',
    pvd: '2027011508000000',
    iso8601: '2027-01-15T08:00:00Z',
    vhd: 853315200,
  },
} as const;
type Epoch = keyof typeof DATES;
type Dates = (typeof DATES)[Epoch];
const env = { TZ: 'UTC', LC_ALL: 'C', MTOOLS_SKIP_CHECK: '1' };
/** An epoch as find's %T@ prints it. */
const epochSeconds = (d: Dates) => `${Date.parse(d.iso8601) / 1000}.0000000000`;

/** What a reader found in one output: every timestamp it printed, and its listing without them. */
interface Reading {
  dates: string[];
  listing: string[];
}

async function sh(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<string> {
  return (await execa(cmd, args, { env, ...opts })).stdout;
}

/** Splits tool lines into the date each carries (matched by `date`) and the line without it. */
function split(lines: string[], date: RegExp): Reading {
  const dated = lines.filter((l) => date.test(l));
  return { dates: dated.map((l) => date.exec(l)![0]), listing: dated.map((l) => l.replace(date, '<date>')) };
}

const FULL = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/;
const tarReading = async (path: string) => split((await sh('tar', ['--full-time', '-tvf', path])).split('\n'), FULL);
const fatReading = async (image: string) =>
  split((await sh('mdir', ['-/', '-a', '-i', image, '::'])).split('\n'), /\d{4}-\d\d-\d\d +\d?\d:\d\d/);

/** Every node of an extracted tree: mtime in seconds, then type, size and path. */
async function treeReading(dir: string, only = ''): Promise<Reading> {
  const lines = (await sh('find', ['.', '-mindepth', '1', ...(only ? ['-type', only] : []), '-printf', '%T@ %y %s %P\n'], { cwd: dir }))
    .split('\n')
    .filter(Boolean)
    .sort((a, b) => a.slice(a.indexOf(' ')).localeCompare(b.slice(b.indexOf(' '))));
  return { dates: lines.map((l) => l.split(' ')[0]!), listing: lines.map((l) => l.slice(l.indexOf(' ') + 1)) };
}

/** The initrd's cpio: `cpio -tv` dates every entry (to the day), and its extracted files exactly. */
async function initrdReadings(initrd: string, scratch: string): Promise<{ listed: Reading; files: Reading }> {
  const cpio = join(scratch, 'initrd.cpio');
  await execa('sh', ['-c', 'gzip -dcf "$0" > "$1"', initrd, cpio]); // -f: an uncompressed one passes through
  const listed = split((await sh('cpio', ['-tv', '--quiet', '-F', cpio])).split('\n'), /[A-Z][a-z]{2} [ \d]\d {2}\d{4}/);
  const tree = join(scratch, 'initrd');
  await mkdir(tree);
  await sh('cpio', ['-idm', '--quiet', '--no-absolute-filenames', '-F', cpio], { cwd: tree });
  return { listed, files: await treeReading(tree, 'f') };
}

/** An ISO: xorriso's volume dates, and every extracted node's mtime (Rock Ridge keeps them). */
async function isoReadings(iso: string, scratch: string): Promise<Array<[string, Reading, Expected]>> {
  const pvd = (await sh('xorriso', ['-indev', iso, '-pvd_info'])).split('\n').filter((l) => /^(Creation|Modif\.) Time/.test(l));
  const tree = join(scratch, 'iso');
  await sh('xorriso', ['-osirrox', 'on', '-indev', iso, '-extract', '/', tree]);
  return [
    [`${iso} volume (xorriso -pvd_info)`, { dates: pvd.map((l) => l.split(': ')[1]!), listing: [] }, (d) => d.pvd],
    [`${iso} nodes (extracted by xorriso)`, await treeReading(tree), epochSeconds],
  ];
}

/** The date every timestamp of a reading must show; undefined: the format holds none. */
type Expected = (d: Dates) => string | undefined;
/** How every format's timestamps are read back; a format without an entry fails the test. */
type Reader = (out: string, scratch: string) => Promise<Array<[what: string, reading: Reading, expected: Expected]>>;
const readers: Record<string, Reader> = {
  'kernel+initrd': async (out, scratch) => {
    const { listed, files } = await initrdReadings(join(out, 'node-initrd.img'), scratch);
    return [
      ['initrd entries (cpio -tv)', listed, (d) => d.day],
      ['initrd files (extracted)', files, epochSeconds],
    ];
  },
  // Built apart, as nodesq: its initrd and cmdline would clash with kernel+initrd's.
  'kernel+squashfs': async (out, scratch) => {
    const image = join(out, 'nodesq-squashfs.img');
    const created = (await sh('unsquashfs', ['-s', image])).split('\n').find((l) => l.startsWith('Creation or last append time'));
    const tree = join(scratch, 'squashfs');
    await sh('unsquashfs', ['-q', '-n', '-d', tree, image]);
    const { files } = await initrdReadings(join(out, 'nodesq-initrd.img'), scratch);
    return [
      [
        'nodesq-squashfs.img (unsquashfs -s)',
        { dates: [created?.replace(/^Creation or last append time /, '') ?? ''], listing: [] },
        (d) => d.pe,
      ],
      ['nodesq-squashfs.img nodes (extracted by unsquashfs)', await treeReading(tree), epochSeconds],
      ['nodesq-initrd.img files (extracted)', files, epochSeconds],
    ];
  },
  tar: async (out) => [['node.tar', await tarReading(join(out, 'node.tar')), (d) => d.full]],
  'tar-kernel-initrd': async (out) => [['node-initrd.tar', await tarReading(join(out, 'node-initrd.tar')), (d) => d.full]],
  gcp: async (out) => [['node.img.tar.gz', await tarReading(join(out, 'node.img.tar.gz')), (d) => d.full]],
  'iso-bios': (out, scratch) => isoReadings(join(out, 'node.iso'), scratch),
  'iso-efi': async (out, scratch) => [
    ...(await isoReadings(join(out, 'node-efi.iso'), scratch)),
    ['node-efi.iso efiboot.img (mdir)', await fatReading(join(scratch, 'iso', 'efi', 'efiboot.img')), (d) => d.fat],
  ],
  'raw-bios': async (out) => [['node-bios.img', await fatReading(`${join(out, 'node-bios.img')}@@1M`), (d) => d.fat]],
  'raw-efi': async (out) => [['node-efi.img', await fatReading(`${join(out, 'node-efi.img')}@@1M`), (d) => d.fat]],
  aws: async (out) => [['node.raw', await fatReading(`${join(out, 'node.raw')}@@1M`), (d) => d.fat]],
  uki: async (out) => {
    const line = (await sh('objdump', ['-p', join(out, 'node.efi')])).split('\n').find((l) => l.startsWith('Time/Date'));
    return [['node.efi (objdump -p)', { dates: [line?.split('\t').pop() ?? ''], listing: [] }, (d) => d.pe]];
  },
  // qcow2 and VMDK headers hold no time: their contents are the raw-efi disk read above.
  qcow2: async (out) => [['node.qcow2', await sameAsRawEfi(out, 'node.qcow2', 'qcow2'), () => undefined]],
  vmdk: async (out) => [['node.vmdk', await sameAsRawEfi(out, 'node.vmdk', 'vmdk'), () => undefined]],
  vhd: async (out) => {
    const footer = await lastBytes(join(out, 'node.vhd'), 512);
    expect(footer.toString('latin1', 0, 8)).toBe('conectix');
    const reading = await sameAsRawEfi(out, 'node.vhd', 'vpc');
    return [['node.vhd footer timestamp', { ...reading, dates: [String(footer.readUInt32BE(24))] }, (d) => String(d.vhd)]];
  },
};

/** qemu-img finds the same contents as the raw-efi disk (exit 0 of compare); no dates of its own. */
async function sameAsRawEfi(out: string, file: string, format: string): Promise<Reading> {
  await sh('qemu-img', ['compare', '-f', 'raw', '-F', format, join(out, 'node-efi.img'), join(out, file)]);
  const info = JSON.parse(await sh('qemu-img', ['info', '-f', format, '--output=json', join(out, file)])) as Record<string, unknown>;
  return { dates: [], listing: [`${info.format} ${info['virtual-size']}`] };
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(path), hash);
  return hash.digest('hex');
}

/** The VHD footer: a disk's last bytes, without reading the disk. */
async function lastBytes(path: string, count: number): Promise<Buffer> {
  const file = await open(path);
  try {
    const { size } = await file.stat();
    const buf = Buffer.alloc(count);
    await file.read(buf, 0, count, size - count);
    return buf;
  } finally {
    await file.close();
  }
}

interface Build {
  out: string;
  cache: string;
  epoch: Epoch;
}
type BuildName = 'a' | 'b' | 'c' | 'd';

describe('SOURCE_DATE_EPOCH and empty caches', () => {
  const builds = {} as Record<BuildName, Build>;
  let work: string;

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'lk-sde-'));
    const kernelRef = (
      await execa('node', [cli, 'pkg', 'build', join(repo, 'images/kernel')], { env: { SOURCE_DATE_EPOCH: '0' } })
    ).stdout.trim();
    const kernelTar = join(work, 'kernel.tar');
    await execa('node', [cli, 'cache', 'export', kernelRef, kernelTar]);
    const kernelFile = join(work, 'kernel.yml');
    await writeFile(kernelFile, `kernel:\n  image: "${KERNEL_REF}"\n  cmdline: "console=ttyS0"\n`);
    const build = async (name: BuildName, cacheOf: 'a' | 'b', epoch: Epoch, extra: string[] = []) => {
      const dir = join(work, name);
      const cache = join(work, `cache-${cacheOf}`);
      const out = join(dir, 'out');
      await mkdir(out, { recursive: true });
      const lk = (args: string[], more: Record<string, string> = {}) =>
        execa('node', [cli, ...args], { cwd: dir, env: { LKBUILD_CACHE: cache, LKBUILD_TMPDIR: dir, ...more } });
      if (cacheOf === name) await lk(['cache', 'import', '--name', KERNEL_REF, kernelTar]);
      const started = Date.now();
      const files = [join(repo, 'examples/node.yml'), kernelFile];
      const env = { SOURCE_DATE_EPOCH: String(epoch) };
      const formats = formatNames.filter((f) => f !== 'kernel+squashfs').flatMap((f) => ['-f', f]);
      await lk(['build', '-o', out, ...formats, ...extra, ...files], env);
      await lk(['build', '-o', out, '-n', 'nodesq', '-f', 'kernel+squashfs', ...extra, ...files], env);
      console.log(
        `build ${name} (cache ${cacheOf}, SOURCE_DATE_EPOCH=${epoch} ${extra.join(' ')}): ${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      builds[name] = { out, cache, epoch };
    };
    // a and b: the same build from two empty caches. c and d: two epochs, the initrd left
    // uncompressed so that a changed date cannot change a size through the compressor.
    await build('a', 'a', 1700000000);
    await build('b', 'b', 1700000000);
    await build('c', 'b', 1800000000, ['--compression', 'none']);
    await build('d', 'a', 1700000000, ['--compression', 'none']);
  }, 1_500_000);
  afterAll(() => rm(work, { recursive: true, force: true })); // four builds and two caches: 1.7 GB

  test('every format has a reader of its timestamps', () => {
    expect(Object.keys(readers).sort()).toEqual([...formatNames].sort());
  });

  for (const format of formatNames) {
    test(`${format}: every timestamp is SOURCE_DATE_EPOCH, at two epochs, and only they change`, async () => {
      const reader = readers[format];
      if (!reader) throw new Error(`no reader for ${format}`);
      const [d, c] = [builds.d, builds.c];
      const readD = await reader(d.out, await mkdtemp(join(work, 'read-')));
      const readC = await reader(c.out, await mkdtemp(join(work, 'read-')));
      expect(readC.length).toBe(readD.length);
      for (const [i, [what, reading, expected]] of readD.entries()) {
        const [, other] = readC[i]!;
        for (const [b, r] of [
          [d, reading],
          [c, other],
        ] as const) {
          const date = expected(DATES[b.epoch]);
          // A reader that finds no timestamp proves nothing, unless the format holds none.
          expect(new Set(r.dates), `${what} at ${b.epoch}`).toEqual(new Set(date === undefined ? [] : [date]));
        }
        expect(other.listing, `${what}: the listing without dates`).toEqual(reading.listing);
      }
    });
  }

  test('the SBOM is dated SOURCE_DATE_EPOCH', async () => {
    for (const b of [builds.a, builds.c]) {
      const sbom = JSON.parse(await readFile(join(b.out, 'node.spdx.json'), 'utf8')) as { creationInfo: { created: string } };
      expect(sbom.creationInfo.created).toBe(DATES[b.epoch].iso8601);
    }
  });

  test('gzip headers carry no time (file)', async () => {
    for (const name of ['node-initrd.img', 'node.img.tar.gz']) {
      const what = await sh('file', [join(builds.a.out, name)]);
      expect(what).toContain('gzip compressed data');
      expect(what).not.toContain('last modified');
    }
  });

  test('every recipe image is dated SOURCE_DATE_EPOCH (skopeo); the kernel its own build epoch, 0 (file)', async () => {
    for (const [cache, epochs] of [
      [builds.a.cache, [1700000000]],
      [builds.b.cache, [1700000000, 1800000000]],
    ] as const) {
      const index = JSON.parse(await readFile(join(cache, 'index.json'), 'utf8')) as {
        manifests: Array<{ annotations: Record<string, string> }>;
      };
      const recipes = index.manifests
        .map((m) => m.annotations['org.opencontainers.image.ref.name']!)
        .filter((r) => r.startsWith('lkbuild/'));
      expect(recipes.length).toBe(8 * epochs.length); // node.yml's init and its seven system images, per epoch
      const created = new Set<string>();
      for (const ref of recipes)
        created.add((JSON.parse(await sh('skopeo', ['inspect', `oci:${cache}:${ref}`])) as { Created: string }).Created);
      expect(created).toEqual(new Set(epochs.map((e) => DATES[e].iso8601)));
    }
    expect(await sh('file', [join(builds.a.out, 'node-kernel')])).toContain('#1 SMP Thu, 01 Jan 1970 00:00:00 GMT');
  });

  test('two epochs: the same files, of the same sizes (the gzip-compressed gcp archive aside)', async () => {
    const names = (await readdir(builds.d.out)).sort();
    expect((await readdir(builds.c.out)).sort()).toEqual(names);
    for (const name of names.filter((n) => !n.endsWith('.tar.gz'))) {
      expect((await stat(join(builds.c.out, name))).size, name).toBe((await stat(join(builds.d.out, name))).size);
    }
  });

  test('two empty caches, two working directories, one epoch: byte-identical outputs', async () => {
    const names = (await readdir(builds.a.out)).sort();
    expect((await readdir(builds.b.out)).sort()).toEqual(names);
    expect(names.length).toBeGreaterThanOrEqual(21); // 14 formats' 19 files and two SBOMs
    const differing = [];
    for (const name of names)
      if ((await sha256(join(builds.a.out, name))) !== (await sha256(join(builds.b.out, name)))) differing.push(name);
    expect(differing).toEqual([]);
  });
});
