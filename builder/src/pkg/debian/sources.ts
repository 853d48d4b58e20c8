/**
 * Where Debian packages come from: LKBUILD_DEBIAN_MIRROR, or the host's apt configuration
 * (deb822 *.sources files and one-line sources.list / *.list files). Only Debian archives are
 * used: third-party repositories are skipped, because we verify every index against a Debian
 * archive keyring and would otherwise fail on them.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { field, parseDeb822 } from './deb822.js';

export interface DebianSource {
  uri: string;
  suite: string;
  components: string[];
  keyring: string;
}

export const DEFAULT_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
export const DEFAULT_SUITE = 'bookworm';

/** Debian's architecture name for the machine we run on. */
export function hostDebianArch(): string {
  const map: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: 'i386', arm: 'armhf', ppc64: 'ppc64el', s390x: 's390x' };
  return map[process.arch] ?? process.arch;
}

/** A keyring file that belongs to Debian's own archive keys (debian-archive-keyring package). */
export function isDebianKeyring(path: string): boolean {
  return /^debian-archive-.*\.(gpg|asc|pgp)$/.test(basename(path));
}

/** Without Signed-By apt trusts every key it has; we only accept the archive's usual paths then. */
function looksLikeDebianArchive(uri: string): boolean {
  const last = uri.replace(/\/+$/, '').split('/').pop() ?? '';
  return /^debian(-security|-ports|-backports|-debug)?$/.test(last);
}

interface RawEntry {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  architectures?: string[];
  signedBy?: string;
  enabled: boolean;
}

const words = (s: string | undefined): string[] => (s ?? '').split(/\s+/).filter((w) => w !== '');

export function parseDeb822Sources(text: string): RawEntry[] {
  return parseDeb822(text, { comments: true }).map((s) => ({
    types: words(field(s, 'Types')),
    uris: words(field(s, 'URIs')),
    suites: words(field(s, 'Suites')),
    components: words(field(s, 'Components')),
    architectures: field(s, 'Architectures') ? words(field(s, 'Architectures')) : undefined,
    signedBy: field(s, 'Signed-By')?.trim(),
    enabled: (field(s, 'Enabled') ?? 'yes').toLowerCase() !== 'no',
  }));
}

/** One-line format: `deb [opt=val ...] uri suite [component...]`. */
export function parseOneLineSources(text: string): RawEntry[] {
  const entries: RawEntry[] = [];
  for (const rawLine of text.split('\n')) {
    const line = rawLine.replace(/#.*$/, '').trim();
    if (line === '') continue;
    const match = /^(\S+)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!match) continue;
    const [, type, options, uri, suite, components] = match;
    const opts = new Map<string, string>();
    for (const opt of words(options)) {
      const eq = opt.indexOf('=');
      if (eq > 0) opts.set(opt.slice(0, eq).toLowerCase(), opt.slice(eq + 1));
    }
    entries.push({
      types: [type!],
      uris: [uri!],
      suites: [suite!],
      components: words(components),
      architectures: opts.has('arch') ? opts.get('arch')!.split(',') : undefined,
      signedBy: opts.get('signed-by'),
      enabled: true,
    });
  }
  return entries;
}

function toSources(entries: RawEntry[], arch: string): DebianSource[] {
  const sources: DebianSource[] = [];
  for (const e of entries) {
    if (!e.enabled || !e.types.includes('deb')) continue;
    if (e.architectures && !e.architectures.includes(arch)) continue;
    if (e.components.length === 0) continue; // flat repositories are not Debian's layout
    for (const uri of e.uris) {
      let keyring: string;
      if (e.signedBy) {
        // Signed-By may also hold fingerprints or an inline key; only a Debian keyring file qualifies.
        if (!e.signedBy.startsWith('/') || /\s/.test(e.signedBy) || !isDebianKeyring(e.signedBy)) continue;
        keyring = e.signedBy;
      } else {
        if (!looksLikeDebianArchive(uri)) continue;
        keyring = DEFAULT_KEYRING;
      }
      for (const suite of e.suites) sources.push({ uri: uri.replace(/\/+$/, ''), suite, components: [...e.components], keyring });
    }
  }
  return mergeDuplicates(sources);
}

/** The same archive and suite listed twice (common across files) becomes one source. */
function mergeDuplicates(sources: DebianSource[]): DebianSource[] {
  const byKey = new Map<string, DebianSource>();
  for (const s of sources) {
    const key = `${s.uri} ${s.suite}`;
    const seen = byKey.get(key);
    if (!seen) byKey.set(key, s);
    else for (const c of s.components) if (!seen.components.includes(c)) seen.components.push(c);
  }
  return [...byKey.values()];
}

function readIfExists(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * Sources from LKBUILD_DEBIAN_MIRROR (a URI; suite bookworm, component main, Debian's keyring)
 * if set, else the host's apt config, Debian entries for the host's architecture only.
 */
export function readAptSources(opts: { env?: NodeJS.ProcessEnv; aptDir?: string } = {}): DebianSource[] {
  const env = opts.env ?? process.env;
  const mirror = env.LKBUILD_DEBIAN_MIRROR?.trim();
  if (mirror) return [{ uri: mirror.replace(/\/+$/, ''), suite: DEFAULT_SUITE, components: ['main'], keyring: DEFAULT_KEYRING }];

  const aptDir = opts.aptDir ?? '/etc/apt';
  const entries: RawEntry[] = [];
  const list = readIfExists(join(aptDir, 'sources.list'));
  if (list !== undefined) entries.push(...parseOneLineSources(list));
  const partsDir = join(aptDir, 'sources.list.d');
  let parts: string[] = [];
  try {
    parts = readdirSync(partsDir).sort(); // apt reads them in alphabetical order
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  for (const name of parts) {
    if (name.endsWith('.list')) entries.push(...parseOneLineSources(readIfExists(join(partsDir, name)) ?? ''));
    else if (name.endsWith('.sources')) entries.push(...parseDeb822Sources(readIfExists(join(partsDir, name)) ?? ''));
  }
  return toSources(entries, hostDebianArch());
}
