/**
 * Where lkbuild's own files are: the schemas beside the code, the CLI's entry, the repository
 * root that recipe scripts use. The code runs from three places: builder/src (tests), builder/dist
 * (tsc's output, a file per module) and builder/dist/bundle (the CLI as `npm run build` bundles
 * it, a few chunks in one folder, see scripts/bundle.mjs). A module that found a file relative
 * to itself would look in the wrong folder once bundled, so every such path is resolved here,
 * from the folder this module sits in, which is the code's root in the first two cases.
 */

import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Set to true by the bundler (scripts/bundle.mjs); undeclared, so `undefined`, everywhere else. */
declare const LKBUILD_BUNDLED: boolean | undefined;

const here = new URL('./', import.meta.url);

/** builder/src or builder/dist: the folder the module tree (and its JSON schemas) starts at. */
const codeRoot: URL = typeof LKBUILD_BUNDLED === 'boolean' && LKBUILD_BUNDLED ? new URL('../', here) : here;

/** A file of the module tree, e.g. `config/schema.json`. */
export function ownFile(path: string): URL {
  return new URL(path, codeRoot);
}

/** The CLI's entry point, for commands that start lkbuild again (QEMU's metadata helper). */
export const cliEntry: URL = new URL('../bin/lkbuild.js', codeRoot);

/** The folder that holds lkbuild's own package.json: recipe scripts may use its tools and sources. */
export function lkbuildRoot(): string {
  return resolve(fileURLToPath(new URL('../../', codeRoot)));
}
