import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { checkBuildFile } from './check.js';
import { crossCheck } from './cross-check.js';
import { containerIds, numericId } from './ids.js';
import { ConfigError, sortDiagnostics, type Diagnostic } from './diagnostics.js';
import { completeKernel, mergeParts, normalizeFile, pkgPrefix, type FilePart, type Origin } from './normalize.js';
import { schemaDiagnostics } from './schema.js';
import { maxSourceBytes, YamlSource } from './source.js';
import type { BuildSpec } from './types.js';
import { imageSections } from './types.js';

/** Parses and checks one build file's text; no file system access. */
export function parseBuildText(file: string, text: string): { source: YamlSource; diagnostics: Diagnostic[] } {
  const source = YamlSource.parse(file, text);
  if (source.errors.length) return { source, diagnostics: source.errors };
  return { source, diagnostics: sortDiagnostics([...schemaDiagnostics(source), ...checkBuildFile(source)]) };
}

async function readSource(file: string): Promise<string | Diagnostic> {
  const st = await stat(file).catch((e: NodeJS.ErrnoException) => e);
  if (st instanceof Error)
    return { file, line: 1, column: 1, message: `cannot read build file: ${st.code === 'ENOENT' ? 'no such file' : st.message}` };
  if (!st.isFile()) return { file, line: 1, column: 1, message: 'cannot read build file: not a regular file' };
  if (st.size > maxSourceBytes)
    return { file, line: 1, column: 1, message: `file is ${st.size} bytes; expected at most ${maxSourceBytes} bytes` };
  return readFile(file, 'utf8');
}

function at(o: Origin, message: string, hint?: string): Diagnostic {
  return { ...o.source.position(o.path), message, ...(hint ? { hint } : {}) };
}

/** The checks that touch the file system: @pkg recipes and file sources must exist. */
async function fileSystemChecks(part: FilePart): Promise<Diagnostic[]> {
  const out: Diagnostic[] = [];
  await Promise.all([
    ...part.pkgRefs.map(async ({ dir, origin }) => {
      const st = await stat(dir).catch(() => undefined);
      if (!st?.isDirectory())
        out.push(
          at(
            origin,
            `${pkgPrefix}${dir}: no such directory; expected a folder with an image recipe (build.yml)`,
            'paths after @pkg: are relative to the build file',
          ),
        );
      else if (!(await stat(join(dir, 'build.yml')).catch(() => undefined))?.isFile()) {
        out.push(at(origin, `${pkgPrefix}${dir}: the folder has no build.yml; expected an image recipe`));
      }
    }),
    ...part.fileSources.map(async ({ path, origin }) => {
      const st = await stat(path).catch(() => undefined);
      if (!st)
        out.push(
          at(
            origin,
            `files: source ${path} does not exist`,
            'relative sources are relative to the build file; set optional: true if it may be absent',
          ),
        );
      else if (!st.isFile())
        out.push(at(origin, `files: source ${path} is not a regular file; expected a file (use directory: true for an empty directory)`));
    }),
  ]);
  return out;
}

/**
 * Reads, checks and merges build files in order. Every problem in every file is collected and
 * thrown at once as a ConfigError.
 */
export async function loadBuildFiles(paths: string[]): Promise<BuildSpec> {
  if (paths.length === 0)
    throw new ConfigError([
      { file: '<command line>', line: 1, column: 1, message: 'no build file given; expected at least one YAML file' },
    ]);
  const diagnostics: Diagnostic[] = [];
  const parts: FilePart[] = [];
  const texts = await Promise.all(paths.map(readSource));
  paths.forEach((file, i) => {
    const text = texts[i];
    if (typeof text !== 'string') {
      diagnostics.push(text);
      return;
    }
    const parsed = parseBuildText(file, text);
    diagnostics.push(...parsed.diagnostics);
    if (parsed.source.value !== undefined && parsed.diagnostics.length === 0) parts.push(normalizeFile(parsed.source));
  });
  for (const part of parts) diagnostics.push(...(await fileSystemChecks(part)));
  if (diagnostics.length) throw new ConfigError(diagnostics);
  const merged = mergeParts(parts);
  diagnostics.push(...crossCheck(merged));
  if (diagnostics.length) throw new ConfigError(diagnostics);
  const spec = merged.spec;
  if (merged.kernel?.image !== undefined) spec.kernel = completeKernel(merged.kernel as { image: string });
  return resolveIdNames(spec);
}

/** Replaces uid/gid names with the ids LinuxKit allocates, so later stages see numbers only. */
function resolveIdNames(spec: BuildSpec): BuildSpec {
  const ids = containerIds(spec);
  const num = (v: number | string) => numericId(v, ids)!;
  for (const s of imageSections) {
    for (const image of spec[s]) {
      if (image.uid !== undefined) image.uid = num(image.uid);
      if (image.gid !== undefined) image.gid = num(image.gid);
      if (image.additionalGids) image.additionalGids = image.additionalGids.map(num);
    }
  }
  for (const f of spec.files) {
    if (f.uid !== undefined) f.uid = num(f.uid);
    if (f.gid !== undefined) f.gid = num(f.gid);
  }
  return spec;
}
