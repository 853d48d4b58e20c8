import { homedir } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { formatMode, parseMode } from './modes.js';
import type { Path, YamlSource } from './source.js';
import type { BuildSpec, FileSpec, ImageSection, ImageSpec, KernelSpec, VolumeSpec } from './types.js';
import { imageSections } from './types.js';

export const pkgPrefix = '@pkg:';

/** Where a value came from, for errors found after files are merged. */
export interface Origin {
  source: YamlSource;
  path: Path;
}

/** One file's contribution, with the origin of every container, volume and file entry. */
export interface FilePart {
  spec: BuildSpec;
  /** The kernel fields this file sets; merged field by field. */
  kernel?: Partial<KernelSpec>;
  origins: Map<object, Origin>;
  /** @pkg: directories (absolute) and where each was named. */
  pkgRefs: { dir: string; origin: Origin }[];
  /** File sources (absolute) that must exist, and where each was named. */
  fileSources: { path: string; origin: Origin }[];
}

type Obj = Record<string, unknown>;

/** Resolves "@pkg:<dir>" relative to the build file; other references stay as written. */
export function resolveImageRef(ref: string, baseDir: string): string {
  if (!ref.startsWith(pkgPrefix)) return ref;
  return pkgPrefix + resolve(baseDir, ref.slice(pkgPrefix.length));
}

/** "~/x" is the builder's home, a relative path is relative to the build file. */
export function resolveSourcePath(p: string, baseDir: string): string {
  if (p === '~' || p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

/** Turns one schema-valid parsed file into typed parts, with paths and references resolved. */
export function normalizeFile(source: YamlSource): FilePart {
  const raw = (source.value ?? {}) as Obj;
  const baseDir = dirname(resolve(source.file));
  const origins = new Map<object, Origin>();
  const pkgRefs: FilePart['pkgRefs'] = [];
  const fileSources: FilePart['fileSources'] = [];
  const ref = (value: string, path: Path): string => {
    const resolved = resolveImageRef(value, baseDir);
    if (resolved !== value) pkgRefs.push({ dir: resolved.slice(pkgPrefix.length), origin: { source, path } });
    return resolved;
  };

  let kernel: Partial<KernelSpec> | undefined;
  if (raw.kernel) {
    const k = raw.kernel as Obj;
    kernel = {};
    if (typeof k.image === 'string') kernel.image = ref(k.image, ['kernel', 'image']);
    for (const key of ['cmdline', 'binary', 'tar', 'ucode'] as const) if (typeof k[key] === 'string') kernel[key] = k[key] as string;
    origins.set(kernel, { source, path: ['kernel'] });
  }
  const init = ((raw.init as string[] | undefined) ?? []).map((r, i) => ref(r, ['init', i]));
  const images = (section: ImageSection): ImageSpec[] =>
    ((raw[section] as Obj[] | undefined) ?? []).map((entry, i) => {
      const spec = { ...entry, image: ref(String(entry.image), [section, i, 'image']) } as unknown as ImageSpec;
      if (spec.devices)
        spec.devices = spec.devices.map((d, j) => ({
          ...d,
          ...(d.mode !== undefined ? { mode: octalMode(d.mode, source, [section, i, 'devices', j, 'mode']) } : {}),
        }));
      origins.set(spec, { source, path: [section, i] });
      return spec;
    });
  const sections = Object.fromEntries(imageSections.map((s) => [s, images(s)])) as Record<ImageSection, ImageSpec[]>;
  const volumes = ((raw.volumes as Obj[] | undefined) ?? []).map((entry, i) => {
    const spec = {
      ...entry,
      image: typeof entry.image === 'string' && entry.image ? ref(entry.image, ['volumes', i, 'image']) : '',
    } as unknown as VolumeSpec;
    origins.set(spec, { source, path: ['volumes', i] });
    return spec;
  });
  const files = ((raw.files as Obj[] | undefined) ?? []).map((entry, i) => {
    const f = normalizeFileEntry(entry, source, ['files', i], baseDir);
    origins.set(f, { source, path: ['files', i] });
    if (f.source !== undefined && !f.optional) fileSources.push({ path: f.source, origin: { source, path: ['files', i, 'source'] } });
    return f;
  });
  return { spec: { init, ...sections, files, volumes }, kernel, origins, pkgRefs, fileSources };
}

/** A mode as "0644", reading an unquoted YAML number the way its author wrote it. */
function octalMode(value: unknown, source: YamlSource, path: Path): string {
  const parsed = parseMode(value, typeof value === 'number' ? source.sourceText(path) : undefined);
  return parsed.ok ? formatMode(parsed.value) : String(value);
}

function normalizeFileEntry(entry: Obj, source: YamlSource, path: Path, baseDir: string): FileSpec {
  const f: FileSpec = { path: String(entry.path) };
  if (entry.directory === true) f.directory = true;
  if (entry.symlink !== undefined) f.symlink = entry.symlink as string;
  if (entry.contents !== undefined) f.contents = entry.contents as string;
  if (entry.source !== undefined) f.source = resolveSourcePath(entry.source as string, baseDir);
  if (entry.metadata !== undefined) f.metadata = entry.metadata as 'yaml' | 'json';
  if (entry.optional !== undefined) f.optional = entry.optional as boolean;
  if (entry.mode !== undefined) {
    f.mode = octalMode(entry.mode, source, [...path, 'mode']);
  } else if (f.symlink === undefined) {
    f.mode = f.directory ? '0755' : '0600';
  }
  if (entry.uid !== undefined) f.uid = entry.uid as number | string;
  if (entry.gid !== undefined) f.gid = entry.gid as number | string;
  return f;
}

/** Several files in order: later kernel fields win, lists append. Name clashes are checked separately. */
export function mergeParts(parts: FilePart[]): FilePart {
  const spec: BuildSpec = { init: [], onboot: [], onshutdown: [], services: [], files: [], volumes: [] };
  const origins = new Map<object, Origin>();
  let kernel: Partial<KernelSpec> | undefined;
  for (const part of parts) {
    if (part.kernel) {
      kernel = { ...kernel, ...part.kernel };
      origins.set(kernel, part.origins.get(part.kernel)!);
    }
    const p = part.spec;
    spec.init.push(...p.init);
    for (const s of imageSections) spec[s].push(...p[s]);
    spec.files.push(...p.files);
    spec.volumes.push(...p.volumes);
    for (const [k, v] of part.origins) origins.set(k, v);
  }
  return { spec, kernel, origins, pkgRefs: parts.flatMap((p) => p.pkgRefs), fileSources: parts.flatMap((p) => p.fileSources) };
}

/** LinuxKit's kernel defaults: the binary is "kernel", the modules tarball "kernel.tar"; an empty tar means none. */
export function completeKernel(k: Partial<KernelSpec> & { image: string }): KernelSpec {
  return {
    image: k.image,
    cmdline: k.cmdline ?? '',
    binary: k.binary || 'kernel',
    tar: k.tar === undefined ? 'kernel.tar' : k.tar || 'none',
    ...(k.ucode ? { ucode: k.ucode } : {}),
  };
}
