/**
 * The archive republishes its indexes several times a day, so cached Packages files (named by
 * sha256) pile up. After a fresh InRelease we delete index files that no cached InRelease lists
 * any more, and parsed forms of an older format. Files younger than an hour are kept: a
 * concurrent build may have just fetched them.
 */
import { readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { PARSED_SUFFIX, distsDir, indexesDir } from './cache-paths.js';

const GRACE_MS = 60 * 60_000;

export async function pruneIndexes(cacheDir: string, now = Date.now()): Promise<string[]> {
  const referenced = new Set<string>();
  let suites: string[];
  try {
    suites = await readdir(distsDir(cacheDir));
  } catch {
    return [];
  }
  for (const suite of suites) {
    // No signature check needed: this only decides what to keep.
    const text = await readFile(join(distsDir(cacheDir), suite, 'InRelease'), 'utf8').catch(() => '');
    for (const match of text.matchAll(/^ ([0-9a-f]{64}) +\d+ /gm)) referenced.add(match[1]!);
  }
  const removed: string[] = [];
  const dir = indexesDir(cacheDir);
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const sha = /^([0-9a-f]{64})\./.exec(name)?.[1];
    const outdated = name.includes('.parsed-') && !name.endsWith(PARSED_SUFFIX);
    if (!sha || (referenced.has(sha) && !outdated)) continue;
    const path = join(dir, name);
    const info = await stat(path).catch(() => undefined);
    if (!info || now - info.mtimeMs < GRACE_MS) continue;
    await rm(path, { force: true });
    removed.push(name);
  }
  return removed;
}
