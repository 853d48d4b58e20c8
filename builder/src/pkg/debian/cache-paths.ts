/** Layout of the cache directory the caller dedicates to Debian packages. */
import { createHash } from 'node:crypto';
import { join } from 'node:path';

const root = (cacheDir: string): string => cacheDir;

/** The verified, still-signed InRelease of one source; its mtime is when it was last fetched. */
export function inReleasePath(cacheDir: string, uri: string, suite: string): string {
  const key = createHash('sha256').update(`${uri} ${suite}`).digest('hex').slice(0, 16);
  return join(distsDir(cacheDir), `${suite.replace(/[^A-Za-z0-9._-]/g, '_')}-${key}`, 'InRelease');
}

/** A Packages file as published (compressed), named by its verified sha256. */
export function packagesFilePath(cacheDir: string, sha256: string, compression: string): string {
  return join(indexesDir(cacheDir), `${sha256}.${compression}`);
}

/** Our parsed form of a Packages file; the version suffix changes when the parsed form does. */
export const PARSED_SUFFIX = '.parsed-v2.json';

export function parsedIndexPath(cacheDir: string, sha256: string): string {
  return join(indexesDir(cacheDir), `${sha256}${PARSED_SUFFIX}`);
}

/** A .deb, named by its verified sha256. */
export function debPath(cacheDir: string, sha256: string): string {
  return join(root(cacheDir), 'debs', `${sha256}.deb`);
}

export function indexesDir(cacheDir: string): string {
  return join(root(cacheDir), 'indexes');
}

export function distsDir(cacheDir: string): string {
  return join(root(cacheDir), 'dists');
}
