/** Getting one resolved package into the cache, verified against the signed index. */
import { LkError } from '../../errors.js';
import { debPath } from './cache-paths.js';
import { downloadVerified, hasVerifiedFile } from './download.js';
import type { HttpOptions } from './http.js';
import type { ResolvedPackage } from './index.js';
import { mapLimit } from '../../util/map-limit.js';

/** Download (or reuse from cacheDir) and verify sha256+size; returns the local path. */
export async function fetchPackage(pkg: ResolvedPackage, opts: { cacheDir: string; http?: HttpOptions }): Promise<string> {
  const path = debPath(opts.cacheDir, pkg.sha256);
  // A cached file is re-hashed: cheap next to unpacking it, and it catches a damaged cache.
  if (await hasVerifiedFile(path, pkg)) return path;
  // Filename comes from a signed index, but it still must not climb out of the archive root.
  if (!/^[A-Za-z0-9][A-Za-z0-9._+~%/-]*$/.test(pkg.filename) || pkg.filename.split('/').includes('..')) {
    throw new LkError(
      'debian',
      `${pkg.name} ${pkg.version}: suspicious Filename ${JSON.stringify(pkg.filename)} in the index`,
      'use another mirror',
    );
  }
  const url = `${pkg.source.uri}/${pkg.filename}`;
  await downloadVerified(url, path, pkg, `${pkg.name}_${pkg.version}_${pkg.arch}.deb`, opts.http);
  return path;
}

/** fetchPackage for many packages, a few downloads at a time; paths in the order given. */
export async function fetchPackages(
  pkgs: ResolvedPackage[],
  opts: { cacheDir: string; http?: HttpOptions; concurrency?: number },
): Promise<string[]> {
  return mapLimit(pkgs, opts.concurrency ?? 4, (pkg) => fetchPackage(pkg, opts));
}
