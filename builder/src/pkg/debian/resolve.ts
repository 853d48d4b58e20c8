/**
 * Dependency closure over merged package indexes. Pure: no I/O, so it is tested with small
 * synthetic indexes as well as the real archive.
 *
 * Rules, kept simple and deterministic:
 * - Each name resolves to one version: a pinned one ("name=version"), else the best candidate:
 *   highest version across all sources, where NotAutomatic suites (backports) only count when
 *   nothing else has the name. A versioned dependency picks the best candidate that satisfies it.
 * - Depends and Pre-Depends are followed (not Recommends). For "a | b" a group already satisfied
 *   by a selected package is left alone; otherwise the first alternative that exists wins.
 * - Virtual names resolve through Provides (a versioned dependency needs a versioned Provides);
 *   among several providers the one of highest Priority (required > important > standard >
 *   optional), then the alphabetically first, is taken, unless one is already selected.
 * - A name in `exclude` is treated as present: a group naming it is considered satisfied; it is
 *   never selected, not even as the provider of a virtual name.
 */
import { LkError } from '../../errors.js';
import type { Candidate, SourceIndex } from './packages-index.js';
import { formatRelation, parseProvides, parseRelations, type Relation, type RelationGroup } from './relations.js';
import { closestNames } from './suggest.js';
import { compareVersions, satisfiesVersion } from './version.js';

export type { Candidate } from './packages-index.js';

/** All candidates by name (best first), and the virtual names they provide. */
export class PackageUniverse {
  readonly byName = new Map<string, Candidate[]>();
  private providersByName?: Map<string, Candidate[]>;
  private readonly providesCache = new WeakMap<Candidate, Relation[]>();

  constructor(indexes: SourceIndex[], arch: string) {
    for (const index of indexes) {
      const automatic = !index.notAutomatic;
      for (const r of index.packages) {
        if (r.arch !== arch && r.arch !== 'all') continue;
        const reusable = (r as Partial<Candidate>).source === index.source && (r as Partial<Candidate>).automatic === automatic;
        const candidate: Candidate = reusable
          ? (r as Candidate)
          : {
              name: r.name,
              version: r.version,
              arch: r.arch,
              filename: r.filename,
              sha256: r.sha256,
              size: r.size,
              depends: r.depends,
              preDepends: r.preDepends,
              provides: r.provides,
              priority: r.priority,
              source: index.source,
              automatic,
            };
        const list = this.byName.get(r.name);
        if (list) list.push(candidate);
        else this.byName.set(r.name, [candidate]);
      }
    }
    for (const list of this.byName.values()) if (list.length > 1) list.sort(betterFirst);
  }

  provides(candidate: Candidate): Relation[] {
    let provided = this.providesCache.get(candidate);
    if (!provided) {
      provided = parseProvides(candidate.provides);
      this.providesCache.set(candidate, provided);
    }
    return provided;
  }

  /** Candidates that provide `name`, built on first use (most resolutions never need it). */
  providers(name: string): Candidate[] {
    if (!this.providersByName) {
      this.providersByName = new Map();
      for (const list of this.byName.values()) {
        for (const candidate of list) {
          if (!candidate.provides) continue;
          // Only the names here; the full relation is parsed when a provider is considered.
          for (const item of candidate.provides.split(',')) {
            const name = item.trim().split(/[\s:(]/, 1)[0]!;
            const providers = this.providersByName.get(name);
            if (providers) providers.push(candidate);
            else this.providersByName.set(name, [candidate]);
          }
        }
      }
    }
    return this.providersByName.get(name) ?? [];
  }
}

function betterFirst(a: Candidate, b: Candidate): number {
  if (a.automatic !== b.automatic) return a.automatic ? -1 : 1;
  return compareVersions(b.version, a.version);
}

export interface ResolveRequest {
  names: string[];
  exclude?: string[];
  /** Describes the sources in errors. */
  sourcesDescription?: string;
}

export function resolveClosure(universe: PackageUniverse, request: ResolveRequest): Candidate[] {
  const excluded = new Set(request.exclude ?? []);
  const selected = new Map<string, Candidate>();
  const queue: Candidate[] = [];
  const select = (c: Candidate): void => {
    selected.set(c.name, c);
    queue.push(c);
  };

  for (const spec of [...request.names].sort()) {
    const { name, version } = parseRequest(spec);
    if (excluded.has(name)) continue;
    const candidate = pickRequested(universe, name, version, request.sourcesDescription);
    const already = selected.get(candidate.name);
    if (already && already.version !== candidate.version) {
      throw new LkError(
        'debian',
        `conflicting requests for ${candidate.name}: ${already.version} and ${candidate.version}`,
        'request each package once',
      );
    }
    if (!already) select(candidate);
  }

  const isSelectedAndSatisfies = (r: Relation): boolean => {
    const real = selected.get(r.name);
    if (real && (!r.op || satisfiesVersion(real.version, r.op, r.version!))) return true;
    for (const provider of universe.providers(r.name)) {
      if (selected.get(provider.name) === provider && providesSatisfies(universe, provider, r)) return true;
    }
    return false;
  };

  while (queue.length > 0) {
    const dependent = queue.shift()!;
    const groups: RelationGroup[] = [...parseRelations(dependent.preDepends), ...parseRelations(dependent.depends)];
    for (const group of groups) {
      if (group.some((r) => excluded.has(r.name))) continue;
      if (group.some(isSelectedAndSatisfies)) continue;
      const choice = firstSatisfiable(universe, group, selected, excluded);
      if (!choice) throw unsatisfiable(universe, dependent, group, selected);
      select(choice);
    }
  }
  return [...selected.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export function parseRequest(spec: string): { name: string; version?: string } {
  const eq = spec.indexOf('=');
  const name = (eq < 0 ? spec : spec.slice(0, eq)).trim().toLowerCase();
  const version = eq < 0 ? undefined : spec.slice(eq + 1).trim();
  if (!/^[a-z0-9][a-z0-9+.-]*$/.test(name) || version === '') {
    throw new LkError(
      'debian',
      `invalid Debian package request ${JSON.stringify(spec)}`,
      'write a package name, optionally pinned as name=version (e.g. busybox-static=1:1.35.0-4+b3)',
    );
  }
  return version === undefined ? { name } : { name, version };
}

function pickRequested(universe: PackageUniverse, name: string, version: string | undefined, sourcesDescription?: string): Candidate {
  const candidates = universe.byName.get(name);
  if (!candidates) {
    const providers = universe.providers(name);
    if (providers.length > 0 && version === undefined) return bestProvider(universe, providers, { name })!;
    const suggestions = closestNames(name, universe.byName.keys());
    throw new LkError(
      'debian',
      `unknown Debian package "${name}"${sourcesDescription ? ` (searched ${sourcesDescription})` : ''}`,
      suggestions.length > 0
        ? `did you mean: ${suggestions.join(', ')}?`
        : 'check the spelling; only the main component of the configured suites is searched',
    );
  }
  if (version === undefined) return candidates[0]!;
  const exact = candidates.find((c) => c.version === version);
  if (!exact) {
    const available = [...new Set(candidates.map((c) => c.version))];
    throw new LkError(
      'debian',
      `Debian package ${name} is not available in version ${version}`,
      `available: ${available.map((v) => `${name}=${v}`).join(', ')}; pin one of these, or drop the pin`,
    );
  }
  return exact;
}

function providesSatisfies(universe: PackageUniverse, provider: Candidate, r: Relation): boolean {
  return universe
    .provides(provider)
    .some((p) => p.name === r.name && (!r.op || (p.op === '=' && satisfiesVersion(p.version!, r.op, r.version!))));
}

const PRIORITY_RANK: Record<string, number> = { required: 0, important: 1, standard: 2, optional: 3, extra: 4 };
const priorityRank = (c: Candidate): number => PRIORITY_RANK[c.priority ?? ''] ?? 5;

function bestProvider(universe: PackageUniverse, providers: Candidate[], r: Relation): Candidate | undefined {
  const usable = providers.filter((p) => providesSatisfies(universe, p, r) && universe.byName.get(p.name)![0] === p);
  usable.sort((a, b) => priorityRank(a) - priorityRank(b) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return usable[0] ?? providers.filter((p) => providesSatisfies(universe, p, r)).sort(betterFirst)[0];
}

/** The candidate for the first alternative of the group that can be satisfied, if any. */
function firstSatisfiable(
  universe: PackageUniverse,
  group: RelationGroup,
  selected: Map<string, Candidate>,
  excluded: ReadonlySet<string>,
): Candidate | undefined {
  for (const r of group) {
    const real = universe.byName.get(r.name);
    if (real) {
      if (selected.has(r.name)) continue; // selected in a version that does not satisfy r
      const match = real.find((c) => !r.op || satisfiesVersion(c.version, r.op, r.version!));
      if (match) return match;
      continue;
    }
    const provider = bestProvider(
      universe,
      universe.providers(r.name).filter((p) => !selected.has(p.name) && !excluded.has(p.name)),
      r,
    );
    if (provider) return provider;
  }
  return undefined;
}

function unsatisfiable(universe: PackageUniverse, dependent: Candidate, group: RelationGroup, selected: Map<string, Candidate>): LkError {
  const wanted = group.map(formatRelation).join(' | ');
  const known = group
    .map((r) => {
      const chosen = selected.get(r.name);
      if (chosen) return `${r.name} ${chosen.version} is already selected`;
      const versions = universe.byName.get(r.name)?.map((c) => c.version);
      return versions ? `${r.name} has ${versions.join(', ')}` : `${r.name} does not exist`;
    })
    .join('; ');
  return new LkError(
    'debian',
    `cannot satisfy ${dependent.name} ${dependent.version}'s dependency on ${wanted} (${known})`,
    `add a source that has it, pin compatible versions, or list the package under exclude if the image does not need it`,
  );
}
