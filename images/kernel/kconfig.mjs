// Pure helpers for Kconfig files: parse, merge fragments, and verify that a
// final .config honours every request. No I/O here.

const SET_LINE = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/;
const UNSET_LINE = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/;

/**
 * Parse Kconfig text into entries in file order.
 * `# CONFIG_X is not set` and `CONFIG_X=n` both mean "n".
 * @param {string} text
 * @param {string} source  name used in error messages
 * @returns {{name: string, value: string, source: string, line: number}[]}
 */
export function parseKconfig(text, source = '<text>') {
  const entries = [];
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    const set = SET_LINE.exec(line);
    const unset = UNSET_LINE.exec(line);
    if (set) entries.push({ name: set[1], value: set[2], source, line: index + 1 });
    else if (unset) entries.push({ name: unset[1], value: 'n', source, line: index + 1 });
    else if (line !== '' && !line.startsWith('#')) {
      throw new Error(`${source}:${index + 1}: not a Kconfig line: ${line}`);
    }
  });
  return entries;
}

/** Map of option name -> value; absent options are "n" when looked up via valueOf. */
export function toValueMap(entries) {
  return new Map(entries.map((e) => [e.name, e.value]));
}

/**
 * Merge fragments in order; a later fragment wins. Returns the merged map and
 * the overrides, so the caller can show when two fragments disagree.
 * @param {{source: string, text: string}[]} fragments
 */
export function mergeFragments(fragments) {
  const merged = new Map();
  const overrides = [];
  for (const { source, text } of fragments) {
    for (const entry of parseKconfig(text, source)) {
      const previous = merged.get(entry.name);
      if (previous && previous.value !== entry.value) overrides.push({ previous, entry });
      merged.set(entry.name, entry);
    }
  }
  return { merged, overrides };
}

/** Render merged entries as a fragment Kconfig accepts (KCONFIG_ALLCONFIG). */
export function renderFragment(merged) {
  return [...merged.values()].map((e) => (e.value === 'n' ? `# ${e.name} is not set` : `${e.name}=${e.value}`)).join('\n') + '\n';
}

/**
 * Requested options whose final value differs. An option absent from the
 * final .config counts as "n" (Kconfig drops symbols whose dependencies fail).
 * @returns {{name: string, wanted: string, got: string, source: string, line: number}[]}
 */
export function unmetRequests(merged, finalValues) {
  const unmet = [];
  for (const entry of merged.values()) {
    const got = finalValues.get(entry.name) ?? 'n';
    if (got !== entry.value) unmet.push({ ...entry, wanted: entry.value, got });
  }
  return unmet;
}

export function describeUnmet(unmet) {
  return unmet.map((u) => `  ${u.name}: wanted ${u.wanted}, got ${u.got}  (${u.source}:${u.line})`).join('\n');
}
