import { field, parseDeb822 } from '../pkg/debian/deb822.js';

/**
 * A Debian package's licence as an SPDX licence expression, read from its copyright file
 * (/usr/share/doc/NAME/copyright).
 *
 * Machine-readable copyright files (DEP-5, "Format: .../copyright-format/1.0/") name a licence
 * per group of files: the package's licence is all of them together (AND). Older free-form
 * files are read for the licences they point at in /usr/share/common-licenses. Debian's short
 * names map to SPDX identifiers (GPL-2+ is GPL-2.0-or-later); a name SPDX does not know becomes
 * LicenseRef-Debian-NAME, which the SBOM declares. Nothing recognisable: NOASSERTION.
 */

/** Debian short names whose SPDX identifier is not the name itself (keys lower-case, without "+"). */
const renamed: Record<string, string> = {
  expat: 'MIT',
  'apache-2': 'Apache-2.0',
  'bsd-2-clause': 'BSD-2-Clause',
  'bsd-3-clause': 'BSD-3-Clause',
  'bsd-4-clause': 'BSD-4-Clause',
  artistic: 'Artistic-1.0-Perl',
  'mpl-1.1': 'MPL-1.1',
  'mpl-2.0': 'MPL-2.0',
  'cc0-1.0': 'CC0-1.0',
  cc0: 'CC0-1.0',
  isc: 'ISC',
  zlib: 'Zlib',
  mit: 'MIT',
  'apache-2.0': 'Apache-2.0',
  openssl: 'OpenSSL',
  'psf-2': 'Python-2.0',
  unlicense: 'Unlicense',
  wtfpl: 'WTFPL',
  'wtfpl-2': 'WTFPL',
};

/** GNU licences carry versions: "GPL-2" is GPL-2.0-only, "LGPL-2.1+" is LGPL-2.1-or-later. */
const gnu = /^(a?gpl|lgpl|gfdl)-(\d)(?:\.(\d))?$/i;

/** The SPDX id of one Debian short name, or a LicenseRef for one SPDX does not list. */
export function spdxLicenseId(debianName: string): string {
  const name = debianName.trim();
  const later = name.endsWith('+');
  const base = later ? name.slice(0, -1) : name;
  const m = gnu.exec(base);
  if (m) return `${m[1]!.toUpperCase()}-${m[2]}.${m[3] ?? '0'}-${later ? 'or-later' : 'only'}`;
  const known = renamed[base.toLowerCase()];
  if (known) return later ? `${known}+` : known;
  return `LicenseRef-Debian-${name.replace(/\+/g, '-or-later').replace(/[^A-Za-z0-9.-]/g, '-')}`;
}

/** One DEP-5 License line ("GPL-2+ or BSD-3-clause", "LGPL-2.1+, GPL-2+") as an SPDX expression. */
function dep5Expression(line: string): string | undefined {
  const terms = line
    .split(/\s*,\s*(?:and\s+)?|\s+and\s+/i)
    .map((t) =>
      t
        .split(/\s+or\s+/i)
        .filter(Boolean)
        .map(spdxLicenseId),
    )
    .filter((alternatives) => alternatives.length > 0);
  if (terms.length === 0) return undefined;
  const parts = terms.map((alternatives) => (alternatives.length > 1 ? `(${alternatives.join(' OR ')})` : alternatives[0]!));
  return parts.join(' AND ');
}

/** The ids a free-form copyright file refers to in /usr/share/common-licenses. */
function commonLicenseRefs(text: string): string[] {
  return [...text.matchAll(/\/usr\/share\/common-licenses\/([A-Za-z0-9.+-]*[A-Za-z0-9+])/g)].map((m) => spdxLicenseId(m[1]!));
}

/** Joins expressions with AND, each once, in a fixed order (so the SBOM's bytes do not depend on file order). */
function allOf(expressions: string[]): string {
  // Every expression here is terms joined by AND, each term an id or a parenthesised OR.
  const unique = [...new Set(expressions.flatMap((e) => e.split(' AND ')))].sort();
  return unique.length ? unique.join(' AND ') : 'NOASSERTION';
}

export function licenseFromCopyright(text: string): string {
  const stanzas = parseDeb822(text);
  const header = stanzas[0];
  if (header && /copyright-format/i.test(field(header, 'format') ?? '')) {
    const found = stanzas
      .filter((s) => field(s, 'files') !== undefined)
      .map((s) => dep5Expression((field(s, 'license') ?? '').split('\n')[0]!))
      .filter((e): e is string => e !== undefined);
    return allOf(found);
  }
  return allOf(commonLicenseRefs(text));
}

/** The LicenseRef-* ids an expression uses (each needs a declaration in the SBOM). */
export function licenseRefs(expression: string): string[] {
  return [...new Set(expression.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? [])];
}
