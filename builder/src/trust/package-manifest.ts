import { posix } from 'node:path';
import { Readable } from 'node:stream';
import type { DebEntry, ResolvedPackage } from '../pkg/debian/index.js';
import { debControl } from '../pkg/debian/deb.js';
import { field, parseStanza } from '../pkg/debian/deb822.js';
import type { ImageConfigFile } from '../oci/media-types.js';
import { licenseFromCopyright } from './debian-license.js';

/**
 * What an image recipe installed from Debian, kept with the image: a label of its config holds
 * one record per package, so the SBOM of any build is made from the cache alone, long after the
 * recipe's scratch root (and any /usr/share/doc its build script removed) is gone.
 */
export const DEBIAN_PACKAGES_LABEL = 'org.lkbuild.debian-packages';

export interface DebianPackageRecord {
  name: string;
  version: string;
  arch: string;
  /** The source package it was built from, and that source's version (they differ for binNMUs). */
  source: string;
  sourceVersion: string;
  /** sha256 of the .deb, as the signed archive index gives it. */
  sha256: string;
  /** An SPDX licence expression from its copyright file, or NOASSERTION. */
  license: string;
}

/** Source: "busybox" or "binutils (2.40-2)"; absent when the source is named like the binary. */
export function sourceOf(control: string, name: string, version: string): { source: string; sourceVersion: string } {
  const value = field(parseStanza(control), 'source');
  const m = value ? /^(\S+)(?:\s+\(([^)]+)\))?$/.exec(value.trim()) : null;
  return { source: m?.[1] ?? name, sourceVersion: m?.[2] ?? version };
}

/**
 * Watches a package's data entries on their way to the root for its copyright file
 * (usr/share/doc/NAME/copyright) or, where Debian links the doc directory to another package's
 * (usr/share/doc/NAME -> OTHER), that link.
 */
export function copyrightTap(name: string): {
  entries(source: AsyncIterable<DebEntry>): AsyncGenerator<DebEntry>;
  found: { text?: string; docLink?: string };
} {
  const found: { text?: string; docLink?: string } = {};
  const doc = `usr/share/doc/${name}`;
  async function* entries(source: AsyncIterable<DebEntry>): AsyncGenerator<DebEntry> {
    for await (const entry of source) {
      const path = posix
        .normalize(entry.header.name)
        .replace(/^(\.\/|\/)+/, '')
        .replace(/\/$/, '');
      if (path === `${doc}/copyright` && entry.header.type === 'file') {
        const chunks: Buffer[] = [];
        for await (const c of entry.stream) chunks.push(c as Buffer);
        const data = Buffer.concat(chunks);
        found.text = data.toString('utf8');
        yield { header: entry.header, stream: Readable.from([data]) };
        continue;
      }
      if (path === doc && entry.header.type === 'symlink' && entry.header.linkname) found.docLink = posix.basename(entry.header.linkname);
      yield entry;
    }
  }
  return { entries, found };
}

/** The records of the installed packages, in the recipe's (sorted) order; `copyrights[i]` is what copyrightTap found for packages[i]. */
export async function debianPackageRecords(
  packages: ResolvedPackage[],
  debs: string[],
  copyrights: Array<{ text?: string; docLink?: string }>,
): Promise<DebianPackageRecord[]> {
  const licenses = new Map<string, string>();
  packages.forEach((p, i) => {
    const text = copyrights[i]!.text;
    if (text !== undefined) licenses.set(p.name, licenseFromCopyright(text));
  });
  const records: DebianPackageRecord[] = [];
  for (const [i, p] of packages.entries()) {
    const link = copyrights[i]!.docLink;
    const license = licenses.get(p.name) ?? (link && licenses.get(link)) ?? 'NOASSERTION';
    records.push({
      name: p.name,
      version: p.version,
      arch: p.arch,
      ...sourceOf(await debControl(debs[i]!), p.name, p.version),
      sha256: p.sha256,
      license,
    });
  }
  return records;
}

/** The Debian packages an image's recipe recorded; none for an image without the label (pulled images, recipes without packages). */
export function debianPackagesOf(config: ImageConfigFile): DebianPackageRecord[] {
  const label = config.config?.Labels?.[DEBIAN_PACKAGES_LABEL];
  if (!label) return [];
  try {
    const parsed = JSON.parse(label) as unknown;
    return Array.isArray(parsed)
      ? (parsed as DebianPackageRecord[]).filter((r) => r && typeof r.name === 'string' && typeof r.version === 'string')
      : [];
  } catch {
    return [];
  }
}
