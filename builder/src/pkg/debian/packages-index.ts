/**
 * Per-source package indexes: InRelease (signature-checked, refreshed at most every N minutes),
 * then each component's Packages file, verified against InRelease's SHA256 list before it is
 * parsed. Both the verified Packages file and our parsed form are cached under its sha256, so a
 * warm build reads one JSON file per source and never touches the network within the TTL.
 */
import { createReadStream } from 'node:fs';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';
import { LkError } from '../../errors.js';
import { inReleasePath, packagesFilePath, parsedIndexPath } from './cache-paths.js';
import { field, streamStanzas } from './deb822.js';
import { decompress, type Compression } from '../../archive/decompress.js';
import { downloadVerified, hasVerifiedFile, type Expected } from './download.js';
import { HttpStatusError, NetworkError, httpGetBuffer, type HttpOptions } from './http.js';
import { pruneIndexes } from './prune.js';
import { checkSuite, checkValidUntil, parseRelease, verifyInRelease, type ReleaseInfo } from './release.js';
import type { DebianSource } from './sources.js';
import { writeFileAtomic } from '../../util/atomic-file.js';

/** The fields of one Packages stanza that resolving and fetching need. */
export interface PackageRecord {
  name: string;
  version: string;
  arch: string;
  filename: string;
  sha256: string;
  size: number;
  depends?: string;
  preDepends?: string;
  provides?: string;
  /** required, important, standard, optional, extra: breaks ties between providers as apt does. */
  priority?: string;
}

/** A package as offered by one source. */
export interface Candidate extends PackageRecord {
  source: DebianSource;
  /** False for NotAutomatic suites (backports): used only when nothing else will do. */
  automatic: boolean;
}

export interface SourceIndex {
  source: DebianSource;
  /** Identifies the content: the sha256s of its Packages files. */
  key: string;
  notAutomatic: boolean;
  /** From loadSourceIndex these are Candidates of this source already (saves a copy later). */
  packages: PackageRecord[];
}

export interface IndexOptions {
  cacheDir: string;
  arch: string;
  /** Reuse a cached InRelease younger than this (default 60). 0 always refetches. */
  maxAgeMinutes?: number;
  http?: HttpOptions;
}

const DEFAULT_MAX_AGE_MINUTES = 60;

export async function loadSourceIndex(source: DebianSource, opts: IndexOptions): Promise<SourceIndex> {
  const what = `${source.uri} ${source.suite}`;
  const release = await loadRelease(source, opts);
  const packages: Candidate[] = [];
  const shas: string[] = [];
  let found = 0;
  for (const component of source.components) {
    const file = pickPackagesFile(release, component, opts.arch);
    if (!file) continue; // e.g. non-free-firmware has no index for some arches
    found++;
    shas.push(file.sha256);
    const automatic = !release.notAutomatic;
    for (const row of await loadPackagesFile(source, file, opts)) packages.push(candidateFromRow(row, source, automatic));
  }
  if (found === 0) {
    throw new LkError(
      'debian',
      `${what}: the signed index lists no Packages file for ${source.components.join(', ')} on ${opts.arch}`,
      'check the suite and component names of this source, and that the archive carries this architecture',
    );
  }
  return { source, key: `${shas.join('+')}${release.notAutomatic ? '~' : ''}`, notAutomatic: release.notAutomatic, packages };
}

// ---- InRelease ----------------------------------------------------------------------------

async function loadRelease(source: DebianSource, opts: IndexOptions): Promise<ReleaseInfo> {
  const what = `${source.uri}/dists/${source.suite}/InRelease`;
  const cached = inReleasePath(opts.cacheDir, source.uri, source.suite);
  const maxAgeMs = (opts.maxAgeMinutes ?? DEFAULT_MAX_AGE_MINUTES) * 60_000;

  let signed: Buffer | undefined;
  try {
    const s = await stat(cached);
    if (Date.now() - s.mtimeMs < maxAgeMs) signed = await readFile(cached);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  let fresh = signed === undefined;
  if (fresh) {
    try {
      signed = await httpGetBuffer(`${source.uri}/dists/${source.suite}/InRelease`, opts.http);
    } catch (e) {
      // Offline, or the mirror is down: a stale but verified index still builds (Valid-Until permitting).
      signed = await readFile(cached).catch(() => undefined);
      if (!signed || !(e instanceof NetworkError)) throw e;
      fresh = false;
    }
  }

  // Re-verified even from the cache: cheap (~10 ms), and Valid-Until is checked against today.
  const text = await verifyInRelease(signed!, source.keyring, what);
  const release = parseRelease(text);
  checkSuite(release, source.suite, what);
  checkValidUntil(release, what);
  if (fresh) {
    await writeAtomically(cached, signed!);
    await pruneIndexes(opts.cacheDir);
  }
  return release;
}

/** One Packages file as InRelease lists it. */
interface PackagesFile extends Expected {
  path: string;
  compression: Compression;
  byHash: boolean;
}

function pickPackagesFile(release: ReleaseInfo, component: string, arch: string): PackagesFile | undefined {
  for (const compression of ['xz', 'gz'] as const) {
    const path = `${component}/binary-${arch}/Packages.${compression}`;
    const entry = release.files.get(path);
    if (entry) return { path, compression, byHash: release.acquireByHash, ...entry };
  }
  return undefined;
}

// ---- Packages -----------------------------------------------------------------------------

/** Parsed indexes already loaded in this process, by cache directory and sha256; the last few. */
const memo = new Map<string, Promise<Row[]>>();
const MEMO_ENTRIES = 8;

function loadPackagesFile(source: DebianSource, file: PackagesFile, opts: IndexOptions): Promise<Row[]> {
  const key = `${opts.cacheDir}\0${file.sha256}`;
  let pending = memo.get(key);
  if (!pending) {
    pending = loadPackagesFileUncached(source, file, opts);
    memo.set(key, pending);
    pending.catch(() => memo.delete(key));
    if (memo.size > MEMO_ENTRIES) memo.delete(memo.keys().next().value!);
  }
  return pending;
}

async function loadPackagesFileUncached(source: DebianSource, file: PackagesFile, opts: IndexOptions): Promise<Row[]> {
  const parsedPath = parsedIndexPath(opts.cacheDir, file.sha256);
  try {
    return JSON.parse(await readFile(parsedPath, 'utf8')) as Row[];
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' && !(e instanceof SyntaxError)) throw e;
  }
  const compressedPath = packagesFilePath(opts.cacheDir, file.sha256, file.compression);
  if (!(await hasVerifiedFile(compressedPath, file))) {
    // by-hash URLs cannot change under us while the mirror updates; plain paths can.
    const dir = file.path.slice(0, file.path.lastIndexOf('/'));
    const byHash = `${source.uri}/dists/${source.suite}/${dir}/by-hash/SHA256/${file.sha256}`;
    const plain = `${source.uri}/dists/${source.suite}/${file.path}`;
    const what = `${source.uri} ${source.suite} ${file.path}`;
    try {
      await downloadVerified(file.byHash ? byHash : plain, compressedPath, file, what, opts.http);
    } catch (e) {
      if (!(file.byHash && e instanceof HttpStatusError && e.statusCode === 404)) throw e;
      await downloadVerified(plain, compressedPath, file, what, opts.http);
    }
  }
  const rows = (await parsePackagesFile(compressedPath, file.compression)).map(rowFromRecord);
  await writeAtomically(parsedPath, JSON.stringify(rows));
  return rows;
}

const PACKAGE_FIELDS = new Set([
  'package',
  'version',
  'architecture',
  'filename',
  'sha256',
  'size',
  'depends',
  'pre-depends',
  'provides',
  'priority',
]);

/** Stream-parse a (compressed) Packages file, keeping only the fields we use. */
export async function parsePackagesFile(path: string, compression: Compression): Promise<PackageRecord[]> {
  const text = decompress(createReadStream(path), compression, path).setEncoding('utf8') as AsyncIterable<string>;
  const records: PackageRecord[] = [];
  for await (const s of streamStanzas(text, { fields: PACKAGE_FIELDS })) {
    const name = field(s, 'package');
    const version = field(s, 'version');
    const filename = field(s, 'filename');
    const sha256 = field(s, 'sha256');
    const size = field(s, 'size');
    if (!name || !version || !filename || !sha256 || !size) continue; // not a downloadable binary
    const record: PackageRecord = { name, version, arch: field(s, 'architecture') ?? '', filename, sha256, size: Number(size) };
    const depends = field(s, 'depends');
    const preDepends = field(s, 'pre-depends');
    const provides = field(s, 'provides');
    if (depends) record.depends = depends;
    if (preDepends) record.preDepends = preDepends;
    const priority = field(s, 'priority');
    if (provides) record.provides = provides;
    if (priority) record.priority = priority;
    records.push(record);
  }
  return records;
}

// Compact cached form: one array per package, fields in a fixed order, '' for absent ones.
type Row = [string, string, string, string, string, number, string, string, string, string];

function rowFromRecord(r: PackageRecord): Row {
  return [r.name, r.version, r.arch, r.filename, r.sha256, r.size, r.depends ?? '', r.preDepends ?? '', r.provides ?? '', r.priority ?? ''];
}

function candidateFromRow(row: Row, source: DebianSource, automatic: boolean): Candidate {
  const [name, version, arch, filename, sha256, size, depends, preDepends, provides, priority] = row;
  // Always the same shape (absent fields undefined): keeps property access monomorphic and fast.
  return {
    name,
    version,
    arch,
    filename,
    sha256,
    size,
    depends: depends || undefined,
    preDepends: preDepends || undefined,
    provides: provides || undefined,
    priority: priority || undefined,
    source,
    automatic,
  };
}

async function writeAtomically(path: string, data: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFileAtomic(path, data);
}
