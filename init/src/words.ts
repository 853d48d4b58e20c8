// Whitespace-separated words without a regular expression. In QuickJS a regular expression
// costs hundreds of instructions a byte (`split(/\s+/)` over 1,000: RegExp[Symbol.split]
// compiles a sticky copy of the pattern on every call; testing a line against
// /^[^\s]+(?: [^\s]+)*$/ backtracks character by character), which made parsing the module
// indexes the init's slowest boot step under TCG. A native indexOf costs tens a byte.

/** ASCII whitespace: space, tab, newline, vertical tab, form feed, carriage return. */
export function isSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13);
}

const OTHER_SPACES = ['\t', '\n', '\v', '\f', '\r'];

/** Words separated by single spaces (depmod's lines, for instance): one native split. */
function singleSpaced(text: string): boolean {
  if (text.indexOf('  ') >= 0) return false;
  for (const c of OTHER_SPACES) if (text.indexOf(c) >= 0) return false;
  return true;
}

/** The words of `text`, split at runs of ASCII whitespace; no empty words. */
export function words(text: string): string[] {
  let first = 0;
  let end = text.length;
  while (first < end && isSpace(text.charCodeAt(first))) first++;
  while (end > first && isSpace(text.charCodeAt(end - 1))) end--;
  if (first === end) return [];
  const inner = first === 0 && end === text.length ? text : text.slice(first, end);
  if (singleSpaced(inner)) return inner.split(' ');
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < inner.length; i++) {
    if (isSpace(inner.charCodeAt(i))) {
      if (start >= 0) out.push(inner.slice(start, i));
      start = -1;
    } else if (start < 0) start = i;
  }
  if (start >= 0) out.push(inner.slice(start));
  return out;
}
