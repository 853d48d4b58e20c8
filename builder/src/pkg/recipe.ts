import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { LkError } from '../errors.js';
import { normalizePath } from '../fs/tree.js';
import { ownFile } from '../own-files.js';
import type { ImageConfig } from '../oci/media-types.js';
import { loadSchema, type LoadedSchema, type SchemaSpec } from '../util/schema-validators.js';

export interface RecipeFile {
  path: string;
  source?: string;
  contents?: string;
  symlink?: string;
  directory?: boolean;
  mode?: string;
}

export interface Recipe {
  /** Absolute path of the recipe folder. */
  dir: string;
  name: string;
  org: string;
  packages: string[];
  exclude: string[];
  /** Absolute paths whose content feeds the image's tag besides the folder itself. */
  inputs: string[];
  build?: string;
  files: RecipeFile[];
  config: ImageConfig;
  defaults?: Record<string, unknown>;
}

export const recipeSchemaSpec: SchemaSpec<'recipe'> = {
  schema: ownFile('pkg/recipe-schema.json'),
  refs: { recipe: '' },
  options: { allErrors: true },
};
let loaded: LoadedSchema<'recipe'> | undefined;

export async function loadRecipe(dirPath: string): Promise<Recipe> {
  const dir = resolve(dirPath);
  const file = join(dir, 'build.yml');
  const text = await readFile(file, 'utf8').catch(() => {
    throw new LkError('recipe', `no image recipe at ${dir}: ${file} is missing`, 'an @pkg: reference names a folder with a build.yml');
  });
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length) throw new LkError('recipe', `${file}: ${doc.errors[0].message}`);
  const raw = doc.toJS() as Record<string, unknown>;
  const validate = (loaded ??= loadSchema(recipeSchemaSpec)).validators.recipe;
  if (!validate(raw)) {
    const problems = (validate.errors ?? []).map(
      (e) =>
        `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`,
    );
    throw new LkError('recipe', `${file} is not a valid recipe:\n  ${problems.join('\n  ')}`);
  }
  const r = raw as Omit<Recipe, 'dir'>;
  const inputs = (r.inputs ?? []).map((p) => resolve(dir, p));
  for (const input of inputs) {
    if (!(await stat(input).catch(() => undefined))) throw new LkError('recipe', `${file}: input ${input} does not exist`);
  }
  if (r.build && !(await stat(join(dir, r.build)).catch(() => undefined))) {
    throw new LkError('recipe', `${file}: build script ${r.build} does not exist in ${dir}`);
  }
  for (const [i, f] of (r.files ?? []).entries()) {
    if (f.source === undefined) continue;
    if (!(await stat(join(dir, normalizePath(f.source))).catch(() => undefined))?.isFile()) {
      throw new LkError(
        'recipe',
        `${file}: files[${i}]: source ${f.source} is not a file in ${dir}`,
        'sources are relative to the recipe folder',
      );
    }
  }
  return {
    dir,
    name: r.name,
    org: r.org ?? 'lkbuild',
    packages: r.packages ?? [],
    exclude: r.exclude ?? [],
    inputs,
    build: r.build,
    files: r.files ?? [],
    config: r.config ?? {},
    defaults: r.defaults,
  };
}
