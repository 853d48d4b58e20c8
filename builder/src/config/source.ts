import {
  Composer,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  Lexer,
  LineCounter,
  Parser,
  YAMLParseError,
  type CST,
  type Document,
  type Node,
  type Pair,
} from 'yaml';
import type { Diagnostic } from './diagnostics.js';

/** A path into a parsed value: object keys and array indexes. */
export type Path = (string | number)[];

/** Bigger build files are refused before parsing: they bound the parser's memory. */
export const maxSourceBytes = 4 * 1024 * 1024;
/** Aliases resolved while converting to plain values; a "billion laughs" file trips this early. */
export const maxAliasCount = 1000;
/** The parser recurses per level; deeper flow collections or indentation are refused before parsing. */
export const maxFlowDepth = 100;
export const maxIndent = 400;
const deepMessage = `collections are nested more than ${maxFlowDepth} deep; expected a flatter document`;
/** Files up to this size are parsed in one pass without a separate nesting check. */
const quickCheckBytes = 256 * 1024;

/**
 * One parsed YAML file that still knows where every value came from, so that problems found in
 * the plain value (by the schema or by semantic checks) can be reported at file:line:column.
 */
export class YamlSource {
  private constructor(
    readonly file: string,
    private readonly doc: Document.Parsed | undefined,
    private readonly lines: LineCounter,
    private readonly text: string,
    /** The plain value, or undefined when the text could not be parsed. */
    readonly value: unknown,
    readonly errors: Diagnostic[],
  ) {}

  static parse(file: string, text: string): YamlSource {
    const lines = new LineCounter();
    const at = (offset: number) => {
      const { line, col } = lines.linePos(offset);
      return { file, line, column: col };
    };
    if (Buffer.byteLength(text) > maxSourceBytes) {
      return new YamlSource(file, undefined, lines, text, undefined, [
        { file, line: 1, column: 1, message: `file is ${Buffer.byteLength(text)} bytes; expected at most ${maxSourceBytes} bytes` },
      ]);
    }
    const indent = new RegExp(`^ {${maxIndent + 1}}`, 'm').exec(text);
    if (indent)
      return YamlSource.refused(
        file,
        text,
        lines,
        indent.index,
        `a line is indented more than ${maxIndent} spaces; expected a flatter document`,
      );
    // Big files, or files whose brackets alone could nest too deep, are first lexed on their own:
    // that pass stops at the first offence instead of building every token of a hostile file.
    if (text.length > quickCheckBytes || naiveFlowDepth(text) > maxFlowDepth) {
      const offset = lexedNestingProblem(text);
      if (offset !== undefined) return YamlSource.refused(file, text, lines, offset, deepMessage);
    }
    // One pass of the lexer and parser; the tokens are checked for depth (exactly, quotes and
    // comments known) before the composer, which recurses per flow level, builds the document.
    const tokens = [...new Parser(lines.addNewLine).parse(text)];
    const deep = flowNestingProblem(tokens);
    if (deep !== undefined) return YamlSource.refused(file, text, lines, deep, deepMessage);
    const doc = composeOne(tokens, text.length);
    const errors: Diagnostic[] = doc.errors.map((e) => ({ ...at(e.pos[0]), message: syntaxMessage(e.code, e.message) }));
    if (errors.length) return new YamlSource(file, doc, lines, text, undefined, errors);
    try {
      const value = withoutNullFields(doc.toJS({ maxAliasCount })) ?? {};
      return new YamlSource(file, doc, lines, text, value, []);
    } catch (e) {
      const alias = firstAlias(doc.contents);
      const where = alias?.range ? at(alias.range[0]) : { file, line: 1, column: 1 };
      const message = /alias/i.test(String((e as Error).message))
        ? `too many alias expansions (more than ${maxAliasCount}); a file that expands aliases this much is refused`
        : `cannot convert YAML to plain values: ${(e as Error).message}`;
      return new YamlSource(file, doc, lines, text, undefined, [{ ...where, message }]);
    }
  }

  private static refused(file: string, text: string, lines: LineCounter, offset: number, message: string): YamlSource {
    return new YamlSource(file, undefined, lines, text, undefined, [{ file, ...lineColumn(text, offset), message }]);
  }

  /** Position of the value at path (or of the deepest existing ancestor). With 'key', of its key. */
  position(path: Path, which: 'value' | 'key' = 'value'): { file: string; line: number; column: number } {
    const found = this.locate(path);
    const node = which === 'key' && found.pair && found.complete ? (found.pair.key as Node | null) : found.node;
    const offset = node?.range?.[0] ?? found.node?.range?.[0] ?? 0;
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, column: col };
  }

  /** The literal text of the scalar at path, e.g. "0644" for a mode the YAML core schema read as 644. */
  sourceText(path: Path): string | undefined {
    const found = this.locate(path);
    if (!found.complete || !isScalar(found.node)) return undefined;
    const range = found.node.range;
    return range ? this.text.slice(range[0], range[1]) : undefined;
  }

  private locate(path: Path): { node: Node | null; pair?: Pair; complete: boolean } {
    let node: Node | null = (this.doc?.contents as Node | null) ?? null;
    let pair: Pair | undefined;
    for (const seg of path) {
      if (node && isAlias(node) && this.doc) node = (node.resolve(this.doc) as Node | undefined) ?? node;
      if (isMap(node)) {
        const hit = node.items.find((p) => isPair(p) && keyOf(p) === String(seg));
        if (!hit) return { node, pair, complete: false };
        pair = hit;
        node = (hit.value as Node | null) ?? (hit.key as Node | null);
      } else if (isSeq(node) && typeof seg === 'number' && seg < node.items.length) {
        pair = undefined;
        node = node.items[seg] as Node;
      } else {
        return { node, pair, complete: false };
      }
    }
    return { node, pair, complete: true };
  }
}

/** 1-based line and column of an offset, for problems found before the parser has counted lines. */
function lineColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return { line, column: offset - before.lastIndexOf('\n') };
}

/** Bracket depth with no regard for quotes or comments: cheap, and usually far below the limit. */
function naiveFlowDepth(text: string): number {
  let depth = 0;
  let max = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x5b || c === 0x7b) max = Math.max(max, ++depth);
    else if ((c === 0x5d || c === 0x7d) && depth > 0) depth--;
  }
  return max;
}

/** The offset of the first flow collection nested too deep, from the streaming lexer; stops there. */
function lexedNestingProblem(text: string): number | undefined {
  let depth = 0;
  let offset = 0;
  for (const token of new Lexer().lex(text)) {
    // Single control characters are the lexer's markers, not source text.
    if (token.length === 1 && token < ' ' && token !== '\n' && token !== '\t') continue;
    if (token === '[' || token === '{') {
      if (++depth > maxFlowDepth) return offset;
    } else if (token === ']' || token === '}') depth = Math.max(0, depth - 1);
    offset += token.length;
  }
  return undefined;
}

/**
 * The offset of the first flow collection nested more than maxFlowDepth deep in the parser's
 * tokens, if any. Walks with its own stack, as the tokens may be nested arbitrarily deep, and in
 * source order (children are pushed last to first), so the first offence found is the earliest.
 */
function flowNestingProblem(tokens: CST.Token[]): number | undefined {
  const stack: { token: CST.Token | null | undefined; depth: number }[] = tokens.map((token) => ({ token, depth: 0 })).reverse();
  while (stack.length) {
    const { token, depth } = stack.pop()!;
    if (!token) continue;
    let inner = depth;
    if (token.type === 'flow-collection') {
      inner = depth + 1;
      if (inner > maxFlowDepth) return token.offset;
    }
    if (token.type === 'document') stack.push({ token: token.value, depth });
    else if (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection') {
      const items = token.items as CST.CollectionItem[];
      for (let i = items.length - 1; i >= 0; i--)
        stack.push({ token: items[i].value, depth: inner }, { token: items[i].key, depth: inner });
    }
  }
  return undefined;
}

/** The first document of the tokens; a second one is an error, as in the yaml package's parseDocument. */
function composeOne(tokens: CST.Token[], length: number): Document.Parsed {
  // merge: LinuxKit's YAML library honours `<<: *anchor`, so files written for it may use it.
  const composer = new Composer({ prettyErrors: false, uniqueKeys: true, merge: true });
  let doc: Document.Parsed | undefined;
  for (const next of composer.compose(tokens, true, length)) {
    if (!doc) doc = next;
    else {
      doc.errors.push(new YAMLParseError([next.range[0], next.range[1]], 'MULTIPLE_DOCS', 'Source contains multiple documents'));
      break;
    }
  }
  return doc!;
}

/**
 * A key with no value ("env:") means "not set", as it does for LinuxKit's Go structs; dropping
 * such keys lets files that rely on it validate. Nulls inside lists stay, and are reported.
 */
function withoutNullFields(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutNullFields);
  if (v && typeof v === 'object') {
    return Object.fromEntries(
      Object.entries(v)
        .filter(([, x]) => x !== null)
        .map(([k, x]) => [k, withoutNullFields(x)]),
    );
  }
  return v;
}

function keyOf(p: Pair): string | undefined {
  return isScalar(p.key) ? String(p.key.value) : undefined;
}

function firstAlias(node: unknown): Node | undefined {
  if (isAlias(node)) return node;
  if (isMap(node) || isSeq(node)) {
    for (const item of node.items) {
      const inner = isPair(item) ? (firstAlias(item.key) ?? firstAlias(item.value)) : firstAlias(item);
      if (inner) return inner;
    }
  }
  return undefined;
}

/** The yaml package's messages with the code spelled out where they are terse. */
function syntaxMessage(code: string, message: string): string {
  const first = message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
  if (code === 'DUPLICATE_KEY') return `YAML syntax error: ${first}; each key may appear once in a mapping`;
  if (code === 'MULTIPLE_DOCS')
    return 'YAML syntax error: a second document starts here; expected one document per build file (pass several files instead)';
  return `YAML syntax error: ${first}`;
}
