/**
 * Relationship fields of binary packages (Depends, Pre-Depends, Provides), Debian policy §7.1:
 * comma-separated groups, each a '|'-separated list of alternatives "name[:archqual] [(op version)]".
 */

export interface Relation {
  name: string;
  /** Multi-arch qualifier (any, native, or an arch), if any; we resolve single-arch so it only informs. */
  archQualifier?: string;
  op?: string;
  version?: string;
}

/** One comma-separated group: satisfied by any of its alternatives. */
export type RelationGroup = Relation[];

const RELATION =
  /^([a-z0-9][a-z0-9+.-]*)(?::([a-z0-9-]+))?\s*(?:\(\s*(<<|<=|>=|>>|=|<|>)\s*([0-9A-Za-z][^\s)]*)\s*\))?\s*(?:\[[^\]]*\])?\s*(?:<[^>]*>\s*)*$/i;

export function parseRelation(text: string): Relation {
  const match = RELATION.exec(text.trim());
  if (!match) throw new Error(`malformed package relation ${JSON.stringify(text)}`);
  const [, name, archQualifier, op, version] = match;
  return {
    name: name!.toLowerCase(),
    ...(archQualifier ? { archQualifier } : {}),
    ...(op ? { op, version: version! } : {}),
  };
}

/** Parse a Depends/Pre-Depends value into groups of alternatives. */
export function parseRelations(value: string | undefined): RelationGroup[] {
  if (!value) return [];
  return value
    .split(',')
    .map((group) => group.trim())
    .filter((group) => group !== '')
    .map((group) => group.split('|').map(parseRelation));
}

/** Parse a Provides value (no alternatives allowed there). */
export function parseProvides(value: string | undefined): Relation[] {
  return parseRelations(value).map((group) => group[0]!);
}

export function formatRelation(r: Relation): string {
  return r.op ? `${r.name} (${r.op} ${r.version})` : r.name;
}
