// Whitespace-separated words without a regular expression. In QuickJS, `split(/\s+/)` goes
// through RegExp[Symbol.split], which compiles a sticky copy of the pattern on every call and
// runs it at each position: over 1,000 instructions a byte, which made parsing the module
// indexes the init's slowest boot step under TCG.

/** ASCII whitespace: space, tab, newline, vertical tab, form feed, carriage return. */
export function isSpace(code: number): boolean {
  return code === 32 || (code >= 9 && code <= 13);
}

/** Words separated by single spaces, nothing around them: depmod's lines, for instance. */
const SINGLE_SPACED = /^[^\s]+(?: [^\s]+)*$/;

/** The words of `text`, split at runs of ASCII whitespace; no empty words. */
export function words(text: string): string[] {
  if (SINGLE_SPACED.test(text)) return text.split(' '); // one native call for the usual case
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    if (isSpace(text.charCodeAt(i))) {
      if (start >= 0) out.push(text.slice(start, i));
      start = -1;
    } else if (start < 0) start = i;
  }
  if (start >= 0) out.push(text.slice(start));
  return out;
}
