import type { ErrorObject } from 'ajv';
import type { Diagnostic } from './diagnostics.js';
import { describePath, describeValue } from './describe.js';
import type { Path, YamlSource } from './source.js';
import { didYouMean } from './suggest.js';
import { ownFile } from '../own-files.js';
import { loadSchema, type LoadedSchema, type SchemaSpec } from '../util/schema-validators.js';

/** The JSON Schema of a build file (kept as a file so editors and other tools can use it too), and its validators. */
export const buildFileSchemaSpec: SchemaSpec<'file' | 'image'> = {
  schema: ownFile('config/schema.json'),
  refs: { file: '', image: '#/definitions/image' },
  options: { allErrors: true, verbose: true, allowUnionTypes: true, strict: true },
};

let loaded: LoadedSchema<'file' | 'image'> | undefined;
const buildFile = () => (loaded ??= loadSchema(buildFileSchemaSpec));
const validators = () => buildFile().validators;

/** Schema problems of a whole build file, each at its position in the source. */
export function schemaDiagnostics(source: YamlSource): Diagnostic[] {
  const validate = validators().file;
  if (validate(source.value)) return [];
  return toDiagnostics(validate.errors ?? [], source, source.value);
}

/** Schema problems of one image's settings, e.g. from an org.mobyproject.config label (name and image not required). */
export function imageSchemaDiagnostics(source: YamlSource): Diagnostic[] {
  const validate = validators().image;
  const value = source.value;
  const probe = value && typeof value === 'object' && !Array.isArray(value) ? { name: 'label', image: 'label', ...value } : value;
  if (validate(probe)) return [];
  return toDiagnostics(validate.errors ?? [], source, probe);
}

function toDiagnostics(errors: ErrorObject[], source: YamlSource, root: unknown): Diagnostic[] {
  // A value of the wrong type also fails the keywords of the type it was meant to have; keep the type error.
  const typeFailed = new Set(errors.filter((e) => e.keyword === 'type').map((e) => e.instancePath));
  // if/then/else (seccomp: "default" or an object) reports the branch's own error; the "if" summary adds nothing,
  // and of several type errors at one place the first (the widest) is the one to show.
  const typeShown = new Set<string>();
  const firstTypeError = (e: ErrorObject): boolean => {
    if (typeShown.has(e.instancePath)) return false;
    typeShown.add(e.instancePath);
    return true;
  };
  return errors
    .filter((e) => e.keyword !== 'if')
    .filter((e) => (e.keyword === 'type' ? firstTypeError(e) : !typeFailed.has(e.instancePath)))
    .map((e) => toDiagnostic(e, source, pointerToPath(e.instancePath, root)));
}

function toDiagnostic(e: ErrorObject, source: YamlSource, path: Path): Diagnostic {
  const where = describePath(path);
  const got = describeValue(e.data);
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String((e.params as { additionalProperty: string }).additionalProperty);
      const properties = (e.parentSchema as { properties?: object })?.properties ?? {};
      const allowed = Object.keys(properties);
      const hint =
        misplaced(key, properties) ?? didYouMean(key, allowed) ?? (allowed.length ? `expected one of: ${allowed.join(', ')}` : undefined);
      return { ...source.position([...path, key], 'key'), message: `unknown key "${key}" in ${where}`, hint };
    }
    case 'required': {
      const key = String((e.params as { missingProperty: string }).missingProperty);
      return { ...source.position(path), message: `${where}: missing required key "${key}"` };
    }
    case 'type':
      return { ...source.position(path), message: `${where}: expected ${typeNames(e.params.type as string | string[])}, got ${got}` };
    case 'enum': {
      const allowed = (e.params as { allowedValues: unknown[] }).allowedValues.map(String);
      const hint = typeof e.data === 'string' ? didYouMean(e.data, allowed) : undefined;
      return { ...source.position(path), message: `${where}: expected one of ${allowed.join(', ')}, got ${got}`, hint };
    }
    case 'minimum':
    case 'maximum': {
      const p = e.params as { comparison: string; limit: number };
      return { ...source.position(path), message: `${where}: expected a number ${p.comparison} ${p.limit}, got ${got}` };
    }
    case 'pattern':
      return {
        ...source.position(path),
        message: `${where}: expected a string matching ${(e.params as { pattern: string }).pattern}, got ${got}`,
      };
    default:
      return { ...source.position(path), message: `${where}: ${e.message ?? 'is invalid'}, got ${got}` };
  }
}

type Definitions = Record<string, { properties: Record<string, unknown> }>;

/**
 * A hint for keys that are valid one level off: runtime settings on the container, or the reverse.
 * The definition that refused the key is told by its keys: the generated validators hold their
 * own copy of the schema, so its objects cannot be compared by identity.
 */
function misplaced(key: string, properties: object): string | undefined {
  const defs = buildFile().schema.definitions as Definitions;
  const is = (def: { properties: object }) => Object.keys(def.properties).join() === Object.keys(properties).join();
  if (is(defs.image) && key in defs.runtime.properties) return `"${key}" belongs under runtime:`;
  if (is(defs.runtime) && key in defs.image.properties) return `"${key}" belongs to the container itself, not under runtime:`;
  return undefined;
}

/** Turns a JSON pointer back into a path, numbering array indexes so positions can be found. */
function pointerToPath(pointer: string, root: unknown): Path {
  const path: Path = [];
  let value = root;
  for (const raw of pointer.split('/').slice(1)) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(value)) {
      path.push(Number(seg));
      value = value[Number(seg)];
    } else {
      path.push(seg);
      value = value && typeof value === 'object' ? (value as Record<string, unknown>)[seg] : undefined;
    }
  }
  return path;
}

function typeNames(t: string | string[]): string {
  const names: Record<string, string> = {
    string: 'a string',
    integer: 'an integer',
    number: 'a number',
    boolean: 'a boolean (true or false)',
    array: 'a list',
    object: 'a mapping',
    null: 'nothing',
  };
  return (Array.isArray(t) ? t : String(t).split(',')).map((x) => names[x] ?? x).join(' or ');
}
