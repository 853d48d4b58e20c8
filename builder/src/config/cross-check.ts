import type { Diagnostic } from './diagnostics.js';
import { containerIds, resolveId } from './ids.js';
import { describeValue } from './describe.js';
import type { FilePart, Origin } from './normalize.js';
import type { Path } from './source.js';
import { didYouMean } from './suggest.js';
import type { BuildSpec, FileSpec, ImageSpec } from './types.js';
import { imageSections } from './types.js';

function diag(origin: Origin, rest: Path, message: string, hint?: string, which: 'value' | 'key' = 'value'): Diagnostic {
  return { ...origin.source.position([...origin.path, ...rest], which), message, ...(hint ? { hint } : {}) };
}

function where(origin: Origin, rest: Path = []): string {
  const p = origin.source.position([...origin.path, ...rest]);
  return `${p.file}:${p.line}:${p.column}`;
}

/** Checks that need every file: unique names, depends, uid/gid names. */
export function crossCheck(merged: FilePart): Diagnostic[] {
  const { spec, origins } = merged;
  const out: Diagnostic[] = [];
  const origin = (o: object) => origins.get(o)!;

  // Services and volumes are addressed by name; onboot and onshutdown bundles are numbered, so
  // LinuxKit files that repeat a name there (two "mount" steps, say) keep working.
  for (const list of [spec.services, spec.volumes]) {
    const kind = list === spec.services ? 'service' : 'volume';
    const seen = new Map<string, ImageSpec>();
    for (const entry of list) {
      const first = seen.get(entry.name);
      if (first)
        out.push(
          diag(
            origin(entry),
            ['name'],
            `duplicate ${kind} name "${entry.name}"; names must be unique (first defined at ${where(origin(first), ['name'])})`,
          ),
        );
      else seen.set(entry.name, entry);
    }
  }

  const services = new Set(spec.services.map((s) => s.name));
  for (const s of spec.services) {
    (s.depends ?? []).forEach((d, i) => {
      if (d === s.name) out.push(diag(origin(s), ['depends', i], `service "${s.name}" depends on itself`));
      else if (!services.has(d))
        out.push(
          diag(
            origin(s),
            ['depends', i],
            `depends: no service named ${describeValue(d)}; expected the name of a service`,
            didYouMean(d, services),
          ),
        );
    });
  }
  const cycle = dependencyCycle(spec.services);
  if (cycle) {
    const first = spec.services.find((s) => s.name === cycle[0])!;
    const index = (first.depends ?? []).indexOf(cycle[1]);
    out.push(
      diag(
        origin(first),
        ['depends', index],
        `services depend on each other in a cycle: ${cycle.join(' -> ')}`,
        'remove one of these depends',
      ),
    );
  }

  const ids = containerIds(spec);
  const checkId = (value: unknown, o: Origin, rest: Path) => {
    if (typeof value !== 'string') return; // numbers are the schema's
    const id = resolveId(value, ids, String(rest[0]));
    if (!id.ok) out.push(diag(o, rest, id.message, id.hint));
  };
  for (const s of imageSections) {
    for (const image of spec[s]) {
      checkId(image.uid, origin(image), ['uid']);
      checkId(image.gid, origin(image), ['gid']);
      (image.additionalGids ?? []).forEach((g, i) => checkId(g, origin(image), ['additionalGids', i]));
    }
  }
  for (const f of spec.files) {
    checkId(f.uid, origin(f), ['uid']);
    checkId(f.gid, origin(f), ['gid']);
  }
  out.push(...fileProblems(spec.files, origin), ...volumeBindProblems(spec, origin));
  if (merged.kernel && merged.kernel.image === undefined) {
    out.push(diag(origin(merged.kernel), [], 'kernel: missing required key "image"'));
  }
  return out;
}

/** A files path in canonical form: no leading or trailing '/', no empty or '.' parts ("./a//b/" is "a/b"). */
export function canonicalFilePath(path: string): string {
  return path
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

/**
 * files entries must name distinct paths, and an entry may only sit below another entry that is
 * a directory. One map of paths, so a file with thousands of entries is checked in linear time.
 */
function fileProblems(files: FileSpec[], origin: (o: object) => Origin): Diagnostic[] {
  const out: Diagnostic[] = [];
  const byPath = new Map<string, FileSpec>();
  for (const f of files) {
    const p = canonicalFilePath(f.path);
    const first = byPath.get(p);
    if (first) {
      const same = first.path === f.path ? '' : ` (the same path as "${first.path}")`;
      out.push(
        diag(
          origin(f),
          ['path'],
          `files: duplicate path "${f.path}"${same}; each path may appear once (first defined at ${where(origin(first), ['path'])})`,
        ),
      );
    } else byPath.set(p, f);
  }
  for (const f of files) {
    const parts = canonicalFilePath(f.path).split('/');
    for (let i = parts.length - 1; i > 0; i--) {
      const parent = byPath.get(parts.slice(0, i).join('/'));
      if (!parent || parent.directory) continue;
      const what = parent.symlink !== undefined ? 'a symlink' : 'a file';
      out.push(
        diag(
          origin(f),
          ['path'],
          `files: "${f.path}" is inside "${parent.path}", which is ${what}, not a directory (defined at ${where(origin(parent), ['path'])})`,
          `make "${parent.path}" a directory with directory: true, or move "${f.path}"`,
        ),
      );
      break;
    }
  }
  return out;
}

/** Mount sources that name a volume: binds and bind mounts whose source is not an absolute path. */
export function volumeSource(source: string): boolean {
  return source !== '' && !source.startsWith('/');
}

/**
 * A bind whose source is not an absolute path names a volume (LinuxKit's rule): it must be one
 * defined under volumes:, and a read-only volume cannot be bound read-write.
 */
function volumeBindProblems(spec: BuildSpec, origin: (o: object) => Origin): Diagnostic[] {
  const out: Diagnostic[] = [];
  const volumes = new Map(spec.volumes.map((v) => [v.name, v]));
  const check = (image: ImageSpec, rest: Path, source: string, options: string[]) => {
    if (!volumeSource(source)) return;
    const vol = volumes.get(source);
    if (!vol) {
      const hint =
        didYouMean(source, volumes.keys()) ??
        (volumes.size
          ? `defined volumes: ${[...volumes.keys()].join(', ')}`
          : 'define it under volumes:, or give an absolute path to bind a host directory');
      out.push(
        diag(
          origin(image),
          rest,
          `${rest[0]}: no volume named ${describeValue(source)}; a bind source that is not an absolute path names a volume`,
          hint,
        ),
      );
    } else if (vol.readonly && options.includes('rw')) {
      out.push(
        diag(
          origin(image),
          rest,
          `${rest[0]}: volume "${source}" is read-only and cannot be bound read-write (defined at ${where(origin(vol), ['name'])})`,
          'use the option ro, or drop readonly: true from the volume',
        ),
      );
    }
  };
  for (const s of imageSections) {
    for (const image of spec[s]) {
      for (const key of ['binds', 'binds.add'] as const) {
        (image[key] ?? []).forEach((b, i) => {
          const [source, , opts] = b.split(':');
          check(image, [key, i], source, opts?.split(',') ?? []);
        });
      }
      (image.mounts ?? []).forEach((m, i) => {
        if (m.type === 'bind' && typeof m.source === 'string') check(image, ['mounts', i, 'source'], m.source, m.options ?? []);
      });
    }
  }
  return out;
}

/** The first cycle among services' depends, as names ending where they start; undefined if none. */
export function dependencyCycle(services: ImageSpec[]): string[] | undefined {
  const deps = new Map(services.map((s) => [s.name, s.depends ?? []]));
  const state = new Map<string, 'active' | 'done'>();
  const stack: string[] = [];
  const visit = (name: string): string[] | undefined => {
    if (state.get(name) === 'done' || !deps.has(name)) return undefined;
    if (state.get(name) === 'active') return [...stack.slice(stack.indexOf(name)), name];
    state.set(name, 'active');
    stack.push(name);
    for (const d of deps.get(name)!) {
      if (d === name) continue;
      const found = visit(d);
      if (found) return found;
    }
    stack.pop();
    state.set(name, 'done');
    return undefined;
  };
  for (const s of services) {
    const found = visit(s.name);
    if (found) return found;
  }
  return undefined;
}
