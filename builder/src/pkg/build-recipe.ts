import { createWriteStream } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LkError } from '../errors.js';
import { tarFromDir } from '../archive/tar-from-dir.js';
import { withFileLock } from '../oci/file-lock.js';
import { commitImage, findImage, writeLayer, type StoredImage } from '../oci/image-store.js';
import type { OciLayout } from '../oci/layout.js';
import { MobyConfigLabel } from '../oci/media-types.js';
import { makeScratchDir } from '../fs/scratch.js';
import { normalizePath, parentOf } from '../fs/tree.js';
import { extractEntries } from './extract-to-dir.js';
import { lkbuildRoot } from '../own-files.js';
import { loadRecipe, type Recipe, type RecipeFile } from './recipe.js';
import { recipeHash } from './recipe-hash.js';
import { countObjects, formatElapsed, ScriptProgress } from './script-progress.js';
import { DEBIAN_PACKAGES_LABEL, copyrightTap, debianPackageRecords, type DebianPackageRecord } from '../trust/package-manifest.js';

export interface RecipeBuildOptions {
  layout: OciLayout;
  sourceDateEpoch: number;
  /** Called with one line per step, for progress output. */
  log?: (line: string) => void;
  /** Stream build script output to stderr instead of only to the log file. */
  verbose?: boolean;
  /** A status line about once a second while a build script runs (pkg/script-progress.ts). */
  onProgress?: (status: string) => void;
}

export function recipeRef(recipe: Recipe, hash: string): string {
  return `${recipe.org}/${recipe.name}:${hash}`;
}

/** Returns the image a recipe folder builds, building it into the cache only if it is not there. */
export async function ensureRecipeImage(dir: string, opts: RecipeBuildOptions): Promise<StoredImage> {
  const recipe = await loadRecipe(dir);
  const ref = recipeRef(recipe, await recipeHash(recipe, opts.sourceDateEpoch));
  const cached = await findImage(opts.layout, ref);
  if (cached) return cached;
  await opts.layout.init();
  const locks = join(opts.layout.root, 'locks');
  await mkdir(locks, { recursive: true });
  // One build per recipe at a time: a second lkbuild waits, then finds the image cached.
  const waiting = Date.now();
  const onWait = (holder: number) =>
    opts.onProgress?.(
      `recipe ${recipe.name}: waiting for another lkbuild${holder > 0 ? ` (pid ${holder})` : ''} building it, ${formatElapsed((Date.now() - waiting) / 1000)}`,
    );
  return withFileLock(
    join(locks, `${recipe.org}-${recipe.name}.lock`),
    async () => {
      return (await findImage(opts.layout, ref)) ?? buildRecipe(recipe, ref, opts);
    },
    60 * 60_000,
    onWait,
  );
}

async function buildRecipe(recipe: Recipe, ref: string, opts: RecipeBuildOptions): Promise<StoredImage> {
  const log = opts.log ?? (() => undefined);
  const started = Date.now();
  log(`building ${ref} from ${recipe.dir}`);
  const work = await makeScratchDir(`lkbuild-${recipe.name}-`);
  try {
    const rootfs = join(work, 'rootfs');
    await mkdir(rootfs);
    const debian = recipe.packages.length ? await installPackages(recipe, rootfs, opts.layout.root, log) : [];
    const objects = recipe.build ? await runBuildScript(recipe, rootfs, work, opts) : 0;
    await placeFiles(recipe, rootfs);
    const layer = await writeLayer(opts.layout, tarFromDir(rootfs, opts.sourceDateEpoch));
    const labels = {
      ...recipe.config.Labels,
      ...(recipe.defaults ? { [MobyConfigLabel]: JSON.stringify(recipe.defaults) } : {}),
      // What went in from Debian, for the SBOM (trust/package-manifest.ts).
      ...(debian.length ? { [DEBIAN_PACKAGES_LABEL]: JSON.stringify(debian) } : {}),
    };
    const image = await commitImage(opts.layout, ref, [layer], {
      created: new Date(opts.sourceDateEpoch * 1000).toISOString(),
      architecture: 'amd64',
      os: 'linux',
      config: { ...recipe.config, ...(Object.keys(labels).length ? { Labels: labels } : {}) },
    });
    log(`built ${ref} in ${((Date.now() - started) / 1000).toFixed(1)}s${objects ? ` (${objects} objects)` : ''}`);
    return image;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

async function installPackages(
  recipe: Recipe,
  rootfs: string,
  cacheRoot: string,
  log: (l: string) => void,
): Promise<DebianPackageRecord[]> {
  // Loaded here, not with the module: a build whose recipes are all cached needs neither the
  // Debian client (undici) nor execa.
  const { debDataEntries, fetchPackages, resolvePackages } = await import('./debian/index.js');
  const cacheDir = join(cacheRoot, 'debian');
  const packages = await resolvePackages(recipe.packages, { cacheDir, exclude: recipe.exclude });
  log(`  ${recipe.name}: ${packages.length} Debian package(s): ${packages.map((p) => `${p.name}=${p.version}`).join(' ')}`);
  const debs = await fetchPackages(packages, { cacheDir });
  const copyrights: Array<{ text?: string; docLink?: string }> = [];
  for (const [i, pkg] of packages.entries()) {
    const tap = copyrightTap(pkg.name);
    await extractEntries(rootfs, tap.entries(debDataEntries(debs[i])), `${pkg.name}_${pkg.version}.deb`);
    copyrights.push(tap.found);
  }
  return debianPackageRecords(packages, debs, copyrights);
}

/** Runs the recipe's build script; returns how many objects (*.o) it left in its work directory. */
async function runBuildScript(recipe: Recipe, rootfs: string, work: string, opts: RecipeBuildOptions): Promise<number> {
  const scratch = join(work, 'scratch');
  const cacheDir = join(opts.layout.root, 'recipes', `${recipe.org}-${recipe.name}`);
  await mkdir(scratch);
  await mkdir(cacheDir, { recursive: true });
  const logDir = join(opts.layout.root, 'logs');
  await mkdir(logDir, { recursive: true });
  const logFile = join(logDir, `${recipe.org}-${recipe.name}.log`);
  const out = createWriteStream(logFile);
  const { execa } = await import('execa');
  const child = execa('node', [join(recipe.dir, recipe.build!)], {
    cwd: recipe.dir,
    env: {
      LK_ROOTFS: rootfs,
      LK_WORKDIR: scratch,
      LK_CACHE_DIR: cacheDir,
      LK_RECIPE_DIR: recipe.dir,
      LK_REPO_ROOT: lkbuildRoot(),
      LK_JOBS: String(Math.max(1, (await import('node:os')).availableParallelism())),
      SOURCE_DATE_EPOCH: String(opts.sourceDateEpoch),
    },
    all: true,
    reject: false,
  });
  child.all?.pipe(out);
  if (opts.verbose) child.all?.pipe(process.stderr);
  const objectsFile = join(logDir, `${recipe.org}-${recipe.name}.objects`);
  const watch = opts.onProgress && !opts.verbose ? await watchScript(recipe, child.all, scratch, objectsFile, opts.onProgress) : undefined;
  const result = await child.finally(() => watch?.stop());
  await new Promise((r) => out.end(r));
  if (result.exitCode !== 0) {
    const tail = (await readFile(logFile, 'utf8')).trimEnd().split('\n').slice(-25).join('\n');
    throw new LkError(
      'build',
      `the build script of recipe ${recipe.name} failed (exit ${result.exitCode ?? result.signal}):\n${tail}`,
      `full log: ${logFile}`,
    );
  }
  const objects = await countObjects(scratch);
  if (objects > 0) await writeFile(objectsFile, `${objects}\n`);
  return objects;
}

/** Reports the script's progress once a second, counting objects every five; `stop` ends it. */
async function watchScript(
  recipe: Recipe,
  output: NodeJS.ReadableStream | undefined,
  workDir: string,
  objectsFile: string,
  report: (status: string) => void,
): Promise<{ stop: () => void }> {
  const last = Number.parseInt(await readFile(objectsFile, 'utf8').catch(() => ''), 10);
  const progress = new ScriptProgress(`recipe ${recipe.name}`, Date.now(), Number.isFinite(last) ? last : undefined);
  output?.on('data', (chunk: Buffer) => progress.output(chunk.toString('utf8')));
  let ticks = 0;
  let counting = false;
  const timer = setInterval(() => {
    if (ticks++ % 5 === 0 && !counting) {
      counting = true;
      void countObjects(workDir).then((n) => {
        progress.foundObjects(n);
        counting = false;
      });
    }
    report(progress.render(Date.now()));
  }, 1000); // the first report after a second, when the script has said what it runs
  return { stop: () => clearInterval(timer) };
}

async function placeFiles(recipe: Recipe, rootfs: string): Promise<void> {
  for (const f of recipe.files) {
    try {
      await placeFile(f, recipe.dir, rootfs);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (!code) throw e;
      // Two entries for one path, a path below a file or symlink: the recipe's own doing.
      const why = { EEXIST: 'something is already at that path', ENOTDIR: 'a parent of it is not a directory' }[code] ?? code;
      throw new LkError(
        'recipe',
        `${join(recipe.dir, 'build.yml')}: files: cannot place ${f.path}: ${why}`,
        'give each path once, below directories only',
        { cause: e },
      );
    }
  }
}

async function placeFile(f: RecipeFile, recipeDir: string, rootfs: string): Promise<void> {
  const rel = normalizePath(f.path);
  const dest = join(rootfs, rel);
  await mkdir(join(rootfs, parentOf(rel)), { recursive: true });
  if (f.directory) await mkdir(dest, { recursive: true });
  else if (f.symlink !== undefined) await symlink(f.symlink, dest);
  else if (f.source !== undefined) await copyFile(join(recipeDir, normalizePath(f.source)), dest);
  else await writeFile(dest, f.contents ?? '');
  if (f.mode && f.symlink === undefined) await chmod(dest, parseInt(f.mode, 8));
}
