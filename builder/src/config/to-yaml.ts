import type { BuildSpec } from './types.js';

/**
 * Words a YAML reader may take for something other than a string: YAML 1.2's core schema and
 * the YAML 1.1 booleans that LinuxKit's reader still knows.
 */
const reserved = /^(?:~|null|true|false|yes|no|on|off|y|n)$/i;
/** Strings that read back as themselves without quotes, in block context, under YAML 1.1 and 1.2. */
const plainSafe = /^[A-Za-z_/][A-Za-z0-9_/.=+@:-]*$/;

/** A scalar as YAML text: plain where that reads back unchanged, otherwise JSON's double quotes. */
function scalar(v: unknown): string {
  if (typeof v === 'string') return plainSafe.test(v) && !reserved.test(v) && !v.endsWith(':') ? v : quoted(v);
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : Number.isNaN(v) ? '.nan' : v > 0 ? '.inf' : '-.inf';
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  return 'null';
}

/** JSON's string syntax is YAML's double-quoted style, once characters YAML does not print are escaped too. */
function quoted(s: string): string {
  return JSON.stringify(s).replace(/[\u007f-\u009f\u2028\u2029\ufeff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const entriesOf = (o: Record<string, unknown>) => Object.entries(o).filter(([, x]) => x !== undefined);

/** Appends the lines of a block mapping (or sequence) to out, indented by `indent`. */
function emit(v: unknown, indent: string, out: string[]): void {
  if (Array.isArray(v)) {
    for (const item of v) {
      if (isObject(item) && entriesOf(item).length) {
        // "- key: value" with the remaining keys aligned under the first.
        const inner: string[] = [];
        emit(item, `${indent}  `, inner);
        out.push(`${indent}- ${inner[0].slice(indent.length + 2)}`, ...inner.slice(1));
      } else if (Array.isArray(item) && item.length) {
        out.push(`${indent}-`);
        emit(item, `${indent}  `, out);
      } else out.push(`${indent}- ${inline(item)}`);
    }
    return;
  }
  for (const [k, x] of entriesOf(v as Record<string, unknown>)) {
    const key = scalar(k);
    if ((Array.isArray(x) && x.length) || (isObject(x) && entriesOf(x).length)) {
      out.push(`${indent}${key}:`);
      emit(x, `${indent}  `, out);
    } else out.push(`${indent}${key}: ${inline(x)}`);
  }
}

/** A value that fits on its line: a scalar, or an empty list or mapping. */
function inline(v: unknown): string {
  if (Array.isArray(v)) return '[]';
  if (isObject(v)) return '{}';
  return scalar(v);
}

/**
 * The resolved build spec as YAML, in LinuxKit's section order, for `lkbuild validate`, dry runs
 * and files with metadata: yaml. Deterministic: the same spec always prints the same text. A
 * small emitter of its own: the spec holds only mappings, lists, strings, numbers and booleans,
 * and the yaml package's general one costs more than the whole validation of a big file.
 */
export function buildSpecToYaml(spec: BuildSpec): string {
  const ordered: Record<string, unknown> = {};
  if (spec.kernel) ordered.kernel = spec.kernel;
  for (const key of ['init', 'onboot', 'onshutdown', 'services', 'volumes', 'files'] as const) {
    if (spec[key].length) ordered[key] = spec[key];
  }
  const out: string[] = [];
  emit(ordered, '', out);
  return out.length ? `${out.join('\n')}\n` : '{}\n';
}
