/**
 * deb822 control-file syntax (Packages, Release, *.sources): stanzas separated by blank lines,
 * "Field: value" lines, continuation lines that start with a space or tab, '#' comment lines.
 * Field names are case-insensitive; we key them as written in the first stanza that uses them,
 * and look them up through `field()`.
 */

export type Stanza = Map<string, string>;

/** Case-insensitive field lookup. Keys are stored lower-cased. */
export function field(stanza: Stanza, name: string): string | undefined {
  return stanza.get(name.toLowerCase());
}

export interface ParseOptions {
  /** Keep only these fields (lower-case names). Skipping the rest is what makes Packages parsing fast. */
  fields?: ReadonlySet<string>;
  /** Allow '#' comment lines (sources files). Packages and Release files have none. */
  comments?: boolean;
}

/**
 * Parse one stanza's text. Multi-line values keep their continuation lines joined by "\n" with
 * the leading space removed (a lone "." line stays "."; callers that care interpret it).
 */
export function parseStanza(text: string, options: ParseOptions = {}): Stanza {
  const stanza: Stanza = new Map();
  const wanted = options.fields;
  let key: string | undefined; // current field, undefined while skipping an unwanted one
  let pos = 0;
  const end = text.length;
  while (pos < end) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = end;
    const first = text.charCodeAt(pos);
    if (first === 32 || first === 9) {
      // Continuation of the previous field.
      if (key !== undefined) stanza.set(key, `${stanza.get(key)}\n${text.slice(pos + 1, nl).trimEnd()}`);
    } else if (first === 35 /* # */ && options.comments) {
      // Comment: leaves the current field open, as apt does.
    } else if (nl > pos) {
      const colon = text.indexOf(':', pos);
      if (colon < 0 || colon > nl) {
        key = undefined; // not a field line; ignore it rather than fail on a stray line
      } else {
        const name = text.slice(pos, colon).toLowerCase();
        if (wanted === undefined || wanted.has(name)) {
          key = name;
          stanza.set(name, text.slice(colon + 1, nl).trim());
        } else {
          key = undefined;
        }
      }
    }
    pos = nl + 1;
  }
  return stanza;
}

/** Split text into stanza texts at blank lines (whitespace-only lines count as blank). */
export function splitStanzas(text: string, options: ParseOptions = {}): string[] {
  const lines = text.replace(/\r\n?/g, '\n').split('\n');
  const stanzas: string[] = [];
  let current: string[] = [];
  for (const line of lines) {
    if (options.comments && line.startsWith('#')) continue;
    if (line.trim() === '') {
      if (current.length > 0) stanzas.push(current.join('\n'));
      current = [];
    } else {
      current.push(line);
    }
  }
  if (current.length > 0) stanzas.push(current.join('\n'));
  return stanzas;
}

/** Parse a whole deb822 document. */
export function parseDeb822(text: string, options: ParseOptions = {}): Stanza[] {
  return splitStanzas(text, options)
    .map((s) => parseStanza(s, options))
    .filter((s) => s.size > 0);
}

/**
 * Stream stanzas out of a large file's text chunks without holding the whole file: each chunk is
 * appended to the unfinished tail of the previous one and cut at the last blank line.
 * Expects "\n" line endings (Debian archive files have no CRs).
 */
export async function* streamStanzas(chunks: AsyncIterable<string>, options: ParseOptions = {}): AsyncGenerator<Stanza> {
  let tail = '';
  for await (const chunk of chunks) {
    const text = tail + chunk;
    const cut = text.lastIndexOf('\n\n');
    if (cut < 0) {
      tail = text;
      continue;
    }
    yield* stanzasIn(text, 0, cut, options);
    tail = text.slice(cut + 2);
  }
  if (tail.trim() !== '') yield* stanzasIn(tail, 0, tail.length, options);
}

function* stanzasIn(text: string, start: number, end: number, options: ParseOptions): Generator<Stanza> {
  let pos = start;
  while (pos < end) {
    while (pos < end && text.charCodeAt(pos) === 10) pos++; // extra blank lines
    if (pos >= end) break;
    let stop = text.indexOf('\n\n', pos);
    if (stop < 0 || stop > end) stop = end;
    const stanza = parseStanza(text.slice(pos, stop), options);
    if (stanza.size > 0) yield stanza;
    pos = stop + 2;
  }
}
