/**
 * Debian version comparison, as Debian policy §5.6.12 defines it:
 * [epoch:]upstream_version[-debian_revision]. Epochs compare numerically; the other two parts
 * compare as alternating runs of non-digits (where '~' sorts before everything, even the end of
 * the string, and letters sort before other characters) and digits (compared numerically).
 */

export interface DebianVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

export function parseVersion(version: string): DebianVersion {
  const v = version.trim();
  const colon = v.indexOf(':');
  const epoch = colon > 0 && /^\d+$/.test(v.slice(0, colon)) ? Number(v.slice(0, colon)) : 0;
  const rest = colon > 0 ? v.slice(colon + 1) : v;
  const dash = rest.lastIndexOf('-');
  return dash >= 0 ? { epoch, upstream: rest.slice(0, dash), revision: rest.slice(dash + 1) } : { epoch, upstream: rest, revision: '' };
}

const isDigit = (code: number): boolean => code >= 48 && code <= 57;
const isLetter = (code: number): boolean => (code >= 65 && code <= 90) || (code >= 97 && code <= 122);

/** Sort weight of one character in a non-digit run; NaN (past the end) weighs like "nothing". */
function weight(code: number): number {
  if (Number.isNaN(code) || isDigit(code)) return 0;
  if (code === 126 /* ~ */) return -1;
  if (isLetter(code)) return code;
  return code + 256;
}

/** Compare one version part (upstream or revision). Negative, zero or positive like a comparator. */
export function compareVersionPart(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    // Non-digit run: character by character with the policy's weights.
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const wa = weight(a.charCodeAt(i));
      const wb = weight(b.charCodeAt(j));
      if (wa !== wb) return wa - wb;
      i++;
      j++;
    }
    // Digit run: numerically, without converting (runs can exceed 2^53).
    while (a.charCodeAt(i) === 48) i++;
    while (b.charCodeAt(j) === 48) j++;
    let firstDifference = 0;
    while (isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDifference === 0) firstDifference = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a.charCodeAt(i))) return 1; // a's number has more digits
    if (isDigit(b.charCodeAt(j))) return -1;
    if (firstDifference !== 0) return firstDifference;
  }
  return 0;
}

/** Compare two Debian version strings; returns <0, 0 or >0. */
export function compareVersions(a: string, b: string): number {
  if (a === b) return 0;
  const va = parseVersion(a);
  const vb = parseVersion(b);
  if (va.epoch !== vb.epoch) return va.epoch - vb.epoch;
  return compareVersionPart(va.upstream, vb.upstream) || compareVersionPart(va.revision, vb.revision);
}

export type RelationOperator = '<<' | '<=' | '=' | '>=' | '>>';

/** Whether `version` satisfies `op constraint` (the deprecated '<' and '>' mean '<=' and '>='). */
export function satisfiesVersion(version: string, op: string, constraint: string): boolean {
  const c = compareVersions(version, constraint);
  switch (op) {
    case '<<':
      return c < 0;
    case '<=':
    case '<':
      return c <= 0;
    case '=':
      return c === 0;
    case '>=':
    case '>':
      return c >= 0;
    case '>>':
      return c > 0;
    default:
      throw new Error(`unknown version relation operator ${JSON.stringify(op)}`);
  }
}
