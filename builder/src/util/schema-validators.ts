/**
 * Validators of a JSON Schema file. `npm run build` (scripts/compile-schemas.mjs) writes ajv's
 * standalone code for each schema next to its copy in dist/, which loads in milliseconds where
 * compiling the schema takes a third of a second. The schema file stays the one source: the
 * generated code records the digest of the text it was made from and is used only while that
 * still matches; otherwise (running from src/, or an edited schema) the schema is compiled here.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Options, ValidateFunction } from 'ajv';

/** How to make the validators of one schema; scripts/compile-schemas.mjs reads the same spec. */
export interface SchemaSpec<K extends string> {
  /** The schema file (JSON). */
  schema: URL;
  /** Each validator's name and the schema reference it checks ("" for the whole schema). */
  refs: Record<K, string>;
  options: Options;
}

export interface LoadedSchema<K extends string> {
  schema: Record<string, unknown>;
  validators: Record<K, ValidateFunction>;
}

const require = createRequire(import.meta.url);

/** The generated module's path: schema.json -> schema.validate.cjs. */
export function generatedPath(schema: URL): URL {
  return new URL(schema.href.replace(/\.json$/, '.validate.cjs'));
}

export function schemaDigest(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The validators, from the generated code when it matches the schema's text, else compiled now. */
export function loadSchema<K extends string>(spec: SchemaSpec<K>): LoadedSchema<K> {
  const text = readFileSync(spec.schema, 'utf8');
  const schema = JSON.parse(text) as Record<string, unknown>;
  const generated = requireIfPresent(generatedPath(spec.schema)) as { digest: string; validators: Record<K, ValidateFunction> } | undefined;
  if (generated?.digest === schemaDigest(text)) return { schema, validators: generated.validators };
  return { schema, validators: compileValidators(spec, schema).validators };
}

function requireIfPresent(url: URL): unknown {
  try {
    return require(url.pathname);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw e;
  }
}

/** Compiles each validator of `spec` with ajv (loaded only now: the generated code needs none of it). */
export function compileValidators<K extends string>(
  spec: SchemaSpec<K>,
  schema: object,
  extra: Options = {},
): { ajv: import('ajv').Ajv; validators: Record<K, ValidateFunction> } {
  const { Ajv } = require('ajv') as typeof import('ajv');
  const ajv = new Ajv({ ...spec.options, ...extra });
  const id = schemaId(schema);
  ajv.addSchema(schema, id);
  const validators = {} as Record<K, ValidateFunction>;
  for (const [name, ref] of Object.entries(spec.refs) as [K, string][]) validators[name] = ajv.getSchema(`${id}${ref}`)!;
  return { ajv, validators };
}

/** The schema's $id, or a name for one without. */
export function schemaId(schema: object): string {
  return String((schema as { $id?: string }).$id ?? 'schema');
}
