/**
 * Debian packages for image recipes, without root, apt or Docker: read the apt sources,
 * resolve names to a dependency closure from signature-verified indexes, fetch verified .debs
 * into a cache, and stream a .deb's data.tar entries.
 */
import { LkError } from '../../errors.js';
import type { HttpOptions } from './http.js';
import { loadSourceIndex, type Candidate, type SourceIndex } from './packages-index.js';
import { PackageUniverse, resolveClosure } from './resolve.js';
import { hostDebianArch, readAptSources, type DebianSource } from './sources.js';

export { readAptSources, type DebianSource } from './sources.js';
export { fetchPackage, fetchPackages } from './fetch.js';
export { debDataEntries, type DebEntry } from './deb.js';
export { compareVersions, satisfiesVersion } from './version.js';

/** A package chosen for an image: what fetching it needs, from the source that offers it. */
export type ResolvedPackage = Pick<Candidate, 'name' | 'version' | 'arch' | 'filename' | 'sha256' | 'size' | 'source'>;

export interface ResolveOptions {
  cacheDir: string;
  arch?: string;
  exclude?: string[];
  sources?: DebianSource[];
  /** Reuse a cached InRelease younger than this many minutes (default 60). */
  indexMaxAgeMinutes?: number;
  http?: HttpOptions;
}

/**
 * Resolve names (optionally "name=version") with their Depends/Pre-Depends closure, from all
 * sources merged (the highest version of a name wins). Sorted by name.
 */
export async function resolvePackages(names: string[], opts: ResolveOptions): Promise<ResolvedPackage[]> {
  const arch = opts.arch ?? hostDebianArch();
  const sources = opts.sources ?? readAptSources();
  if (sources.length === 0) {
    throw new LkError(
      'debian',
      'no Debian package sources configured',
      'set LKBUILD_DEBIAN_MIRROR to a Debian mirror URI, or configure Debian in /etc/apt/sources.list.d/*.sources',
    );
  }
  if (names.length === 0) return [];
  const indexes = await Promise.all(
    sources.map((source) =>
      loadSourceIndex(source, { cacheDir: opts.cacheDir, arch, maxAgeMinutes: opts.indexMaxAgeMinutes, http: opts.http }),
    ),
  );
  const universe = universeFor(indexes, arch);
  const closure = resolveClosure(universe, {
    names,
    exclude: opts.exclude,
    sourcesDescription: sources.map((s) => `${s.uri} ${s.suite}`).join(', '),
  });
  return closure.map(({ name, version, arch: pkgArch, filename, sha256, size, source }) => ({
    name,
    version,
    arch: pkgArch,
    filename,
    sha256,
    size,
    source,
  }));
}

/** The last few merged universes: repeated resolves in one build skip rebuilding them. */
const universes = new Map<string, PackageUniverse>();

function universeFor(indexes: SourceIndex[], arch: string): PackageUniverse {
  const key = `${arch} ${indexes.map((i) => `${i.source.uri} ${i.source.suite} ${i.key}`).join(' ')}`;
  let universe = universes.get(key);
  if (!universe) {
    universe = new PackageUniverse(indexes, arch);
    universes.set(key, universe);
    if (universes.size > 2) universes.delete(universes.keys().next().value!);
  }
  return universe;
}
