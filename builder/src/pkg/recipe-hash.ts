import { createHash, type Hash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { Recipe } from './recipe.js';

/** Bump when the way recipes turn into images changes, so old cached images are not reused. */
const recipeFormatVersion = '1';
/** Bump when the Debian package records (trust/package-manifest.ts) change; only recipes with packages rebuild. */
const debianRecordsVersion = '1';

/** Names that are build output or tool state, never recipe input. */
const ignored = new Set(['node_modules', '.git', 'build', 'dist']);

/**
 * The tag of a recipe's image: a hash of everything that can change the image — the folder, its
 * declared inputs, the epoch the image is stamped with, and the recipe format. Package names are
 * hashed as written; pin versions (name=version) to make a recipe's packages reproducible too.
 */
export async function recipeHash(recipe: Recipe, sourceDateEpoch: number): Promise<string> {
  const h = createHash('sha256');
  h.update(`lkbuild-recipe ${recipeFormatVersion}\nepoch ${sourceDateEpoch}\n`);
  // Images with Debian packages carry their package records (for the SBOM) since this version.
  if (recipe.packages.length) h.update(`debian-package-records ${debianRecordsVersion}\n`);
  for (const root of [recipe.dir, ...recipe.inputs]) {
    h.update(`root ${relative(recipe.dir, root) || '.'}\n`);
    await hashTree(h, root, root);
  }
  return h.digest('hex').slice(0, 24);
}

async function hashTree(h: Hash, root: string, path: string): Promise<void> {
  const st = await lstat(path);
  const rel = relative(root, path) || '.';
  if (st.isDirectory()) {
    h.update(`dir ${rel}\n`);
    for (const name of (await readdir(path)).sort()) {
      if (!ignored.has(name)) await hashTree(h, root, join(path, name));
    }
  } else if (st.isSymbolicLink()) {
    h.update(`symlink ${rel} ${await readlink(path)}\n`);
  } else if (st.isFile()) {
    const data = await readFile(path);
    h.update(`file ${rel} ${st.mode & 0o111 ? 'x' : '-'} ${data.length}\n`);
    h.update(data);
  }
}
