// The YAML that cloud-config and NoCloud meta-data use, parsed without a YAML library (the
// metadata binary stays small). Pure. Supported: block mappings and sequences (a sequence may sit
// at its key's indentation), plain, 'single' and "double" quoted scalars, literal (|) and folded
// (>) block scalars with chomping, flow sequences of scalars ([a, "b"]), comments, a leading
// `---`. Anything else (anchors, aliases, tags, flow mappings, multi-line plain or quoted
// scalars) is refused with the line it is on, never guessed at. Every scalar stays a string.

export type YamlValue = string | null | YamlValue[] | { [key: string]: YamlValue };

export class YamlError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const MAX_DEPTH = 32;

export function parseYamlSubset(text: string): YamlValue {
  const p = new Parser(text.replace(/\r\n/g, '\n').split('\n'));
  p.skipBlank();
  if (p.at() !== null && p.at()!.trim() === '---') {
    p.i++;
  }
  const value = p.node(0, 0);
  p.skipBlank();
  if (p.at() !== null && p.at()!.trim() !== '...') p.fail('unexpected text after the document (check its indentation)');
  return value;
}

function indentOf(line: string): number {
  return line.length - line.replace(/^ +/, '').length;
}

function isBlank(line: string): boolean {
  return /^\s*(#.*)?$/.test(line);
}

/** A plain value's text without a trailing comment (" #..."). */
function stripComment(text: string): string {
  const m = /(^|\s)#/.exec(text);
  return (m ? text.slice(0, m.index) : text).trim();
}

const KEY = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^\s"'#\-?:,[\]{}&*!|>%@`][^#]*?|-[^\s#][^#]*?)\s*:(?:\s+(.*))?$/;

class Parser {
  i = 0;
  constructor(private readonly lines: string[]) {}

  /** The current line, read as structure (not block-scalar text): tabs may not indent it. */
  at(): string | null {
    if (this.i >= this.lines.length) return null;
    const line = this.lines[this.i]!;
    if (/^ *\t/.test(line)) this.fail('a tab in indentation (YAML indents with spaces)');
    return line;
  }

  fail(message: string, line = this.i + 1): never {
    throw new YamlError(message, line);
  }

  skipBlank(): void {
    while (this.i < this.lines.length && isBlank(this.lines[this.i]!)) this.i++;
  }

  /** The block node whose first line is indented at least `min`; null when there is none. */
  node(min: number, depth: number): YamlValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH} levels`);
    this.skipBlank();
    const line = this.at();
    if (line === null) return null;
    const indent = indentOf(line);
    if (indent < min) return null;
    const body = line.slice(indent);
    if (body === '-' || body.startsWith('- ')) return this.sequence(indent, depth);
    if (KEY.test(body)) return this.mapping(indent, depth);
    this.i++;
    return this.inline(body);
  }

  private sequence(indent: number, depth: number): YamlValue[] {
    const items: YamlValue[] = [];
    for (;;) {
      this.skipBlank();
      const line = this.at();
      if (line === null || indentOf(line) !== indent) break;
      const body = line.slice(indent);
      if (body !== '-' && !body.startsWith('- ')) break;
      const rest = body.slice(1).replace(/^ +/, '');
      if (rest === '' || rest.startsWith('#')) {
        this.i++;
        items.push(this.node(indent + 1, depth + 1));
      } else {
        // "- key: v" or "- - x": the item is a block starting at the column after the dash.
        const column = line.length - rest.length;
        if (KEY.test(rest) || rest === '-' || rest.startsWith('- ')) {
          this.lines[this.i] = ' '.repeat(column) + rest;
          items.push(this.node(column, depth + 1));
        } else {
          this.i++;
          items.push(this.inlineOrBlock(rest, indent));
        }
      }
    }
    return items;
  }

  private mapping(indent: number, depth: number): { [key: string]: YamlValue } {
    const map: { [key: string]: YamlValue } = Object.create(null);
    for (;;) {
      this.skipBlank();
      const line = this.at();
      if (line === null) break;
      const lineIndent = indentOf(line);
      if (lineIndent < indent) break;
      if (lineIndent > indent) this.fail('unexpected indentation');
      const m = KEY.exec(line.slice(indent));
      if (!m) break;
      const key = this.scalarKey(m[1]!);
      if (key in map) this.fail(`key "${key}" appears twice`);
      const rest = stripComment(m[2] ?? '') === '' ? '' : (m[2] ?? '');
      this.i++;
      if (rest === '') map[key] = this.childOf(indent, depth);
      else map[key] = this.inlineOrBlock(rest, indent);
    }
    return map;
  }

  /** The value under "key:" with nothing after it: a deeper block, or a sequence at the key's indentation. */
  private childOf(indent: number, depth: number): YamlValue {
    this.skipBlank();
    const line = this.at();
    if (line === null) return null;
    const next = indentOf(line);
    const body = line.slice(next);
    if (next > indent) return this.node(indent + 1, depth + 1);
    if (next === indent && (body === '-' || body.startsWith('- '))) return this.sequence(indent, depth + 1);
    return null;
  }

  private scalarKey(text: string): string {
    const value = this.inline(text);
    if (typeof value !== 'string') this.fail('a mapping key must be a scalar');
    return value;
  }

  private inlineOrBlock(text: string, parentIndent: number): YamlValue {
    const header = /^([|>])([+-]?)([1-9]?)([+-]?)\s*(#.*)?$/.exec(text);
    if (header) return this.blockScalar(header[1] as '|' | '>', header[2] || header[4], Number(header[3] || 0), parentIndent);
    const value = this.inline(text);
    // A value followed by a deeper line would be a multi-line scalar: refuse rather than guess.
    this.skipBlank();
    const next = this.at();
    if (next !== null && indentOf(next) > parentIndent) {
      this.fail('a value continues on this line; quote it on one line or use a block scalar (| or >)');
    }
    return value;
  }

  private inline(raw: string): YamlValue {
    const text = raw.trim();
    const line = this.i; // already advanced past the line holding the text
    if (text.startsWith('"')) return this.doubleQuoted(text, line);
    if (text.startsWith("'")) {
      const m = /^'((?:[^']|'')*)'\s*(#.*)?$/.exec(text);
      if (!m) this.fail('a single-quoted scalar must end on the same line', line);
      return m[1]!.replace(/''/g, "'");
    }
    if (text.startsWith('[')) return this.flowSequence(text, line);
    if (/^[{&*!%@`]/.test(text)) this.fail(`"${text[0]}" (flow mappings, anchors, aliases, tags) is not supported here`, line);
    const plain = stripComment(text);
    if (plain === '' || plain === '~' || plain === 'null') return null;
    if (/: |:$/.test(plain)) this.fail(`"${plain}" looks like a mapping inside a value; quote it`, line);
    return plain;
  }

  private doubleQuoted(text: string, line: number): string {
    const m = /^"((?:[^"\\]|\\.)*)"\s*(#.*)?$/.exec(text);
    if (!m) this.fail('a double-quoted scalar must end on the same line', line);
    const escapes: Record<string, string> = {
      n: '\n',
      t: '\t',
      r: '\r',
      '0': '\0',
      '"': '"',
      '\\': '\\',
      '/': '/',
      ' ': ' ',
      e: '\x1b',
      a: '\x07',
      b: '\b',
      f: '\f',
      v: '\v',
    };
    return m[1]!.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|.)/g, (_all, e: string) => {
      if (/^[xuU]/.test(e)) return String.fromCodePoint(parseInt(e.slice(1), 16));
      const c = escapes[e];
      if (c === undefined) this.fail(`unknown escape "\\${e}" in a double-quoted scalar`, line);
      return c;
    });
  }

  private flowSequence(text: string, line: number): string[] {
    const close = text.lastIndexOf(']');
    if (close < 0 || stripComment(text.slice(close + 1)) !== '') this.fail('a flow sequence ([...]) must end on the same line', line);
    const inner = text.slice(1, close).trim();
    if (inner === '') return [];
    const items: string[] = [];
    const item = /\s*("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^,[\]{}"']*)\s*(,|$)/y;
    let pos = 0;
    while (pos < inner.length) {
      item.lastIndex = pos;
      const m = item.exec(inner);
      if (!m || m[0] === '') this.fail('only scalars may appear in a flow sequence', line);
      const value = this.inline(m[1]!);
      if (typeof value !== 'string') this.fail('only scalars may appear in a flow sequence', line);
      items.push(value);
      pos = item.lastIndex;
    }
    return items;
  }

  private blockScalar(style: '|' | '>', chomp: string, explicit: number, parentIndent: number): string {
    let contentIndent = explicit ? parentIndent + explicit : 0;
    const collected: string[] = [];
    while (this.i < this.lines.length) {
      const line = this.lines[this.i]!;
      if (line.trim() === '') {
        collected.push('');
        this.i++;
        continue;
      }
      const indent = indentOf(line);
      if (contentIndent === 0) contentIndent = indent;
      if (indent < contentIndent || indent <= parentIndent) break;
      collected.push(line.slice(contentIndent));
      this.i++;
    }
    // Trailing blank lines belong to chomping, not to the text.
    let end = collected.length;
    while (end > 0 && collected[end - 1] === '') end--;
    const body = collected.slice(0, end);
    const trailing = collected.length - end;
    const text = style === '|' ? body.join('\n') : fold(body);
    if (body.length === 0) return chomp === '+' ? '\n'.repeat(trailing) : '';
    if (chomp === '-') return text;
    if (chomp === '+') return text + '\n' + '\n'.repeat(trailing);
    return text + '\n';
  }
}

/** Folded style: single line breaks become spaces, blank lines become breaks, more-indented lines keep theirs. */
function fold(lines: string[]): string {
  let out = '';
  for (const [i, line] of lines.entries()) {
    const prev = i > 0 ? lines[i - 1]! : null;
    if (prev === null) out = line;
    else if (line === '') out += '\n';
    else if (prev === '') out += line;
    else out += (line.startsWith(' ') || prev.startsWith(' ') ? '\n' : ' ') + line;
  }
  return out;
}
