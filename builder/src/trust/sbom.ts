import { createHash } from 'node:crypto';
import { licenseRefs } from './debian-license.js';
import type { DebianPackageRecord } from './package-manifest.js';

/**
 * The node's SBOM as an SPDX 2.3 JSON document (LinuxKit writes SPDX too): the node; every image
 * by reference and manifest digest; the Debian packages each image's recipe installed, with
 * version, source package, licence, .deb checksum and a purl scanners match on; the kernel's
 * release; lkbuild and its on-node programs (lk-init, lk-run) with their digests.
 *
 * Pure: the same inputs give the same bytes. The creation time is SOURCE_DATE_EPOCH and the
 * namespace a hash of the content, so nothing depends on when or where the build ran.
 */

export interface SbomImage {
  /** The reference as the build file gives it (or the recipe image's own name). */
  reference: string;
  /** The manifest digest, "sha256:...". */
  digest: string;
  /** What uses it in the build: "kernel", "init", "onboot:dhcpcd", ... */
  users: string[];
  debian: DebianPackageRecord[];
}

export interface SbomInput {
  name: string;
  sourceDateEpoch: number;
  lkbuildVersion: string;
  images: SbomImage[];
  /** The kernel's release ("6.1.119"), when the node has a kernel. */
  kernelRelease?: string;
  /** lkbuild's programs found on the node: name -> sha256 hex of the file. */
  components: Record<string, string>;
}

type Json = Record<string, unknown>;

const NOASSERTION = 'NOASSERTION';

/** SPDX ids allow letters, digits, "." and "-". */
const spdxId = (...parts: string[]) => `SPDXRef-${parts.join('-').replace(/[^A-Za-z0-9.-]/g, '-')}`;

const sha256 = (hex: string) => [{ algorithm: 'SHA256', checksumValue: hex }];

/** A purl (package-url) reference; purl percent-encodes ":" and "+" in versions. */
const purl = (locator: string) => ({ referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: locator });

export function debianPurl(p: DebianPackageRecord): string {
  const upstream = p.source === p.name ? '' : `&upstream=${encodeURIComponent(p.source)}`;
  return `pkg:deb/debian/${encodeURIComponent(p.name)}@${encodeURIComponent(p.version)}?arch=${encodeURIComponent(p.arch)}${upstream}`;
}

/** pkg:oci/NAME@DIGEST?repository_url=REPO for "REPO[:TAG]". */
function ociPurl(reference: string, digest: string): string {
  const repo = reference.replace(/@sha256:[0-9a-f]+$/, '').replace(/:[^:/]+$/, '');
  const name = repo.slice(repo.lastIndexOf('/') + 1).toLowerCase();
  return `pkg:oci/${encodeURIComponent(name)}@${encodeURIComponent(digest)}?repository_url=${encodeURIComponent(repo)}`;
}

function basePackage(id: string, name: string, version: string | undefined, extra: Json): Json {
  return {
    SPDXID: id,
    name,
    ...(version ? { versionInfo: version } : {}),
    downloadLocation: NOASSERTION,
    filesAnalyzed: false,
    licenseConcluded: NOASSERTION,
    licenseDeclared: NOASSERTION,
    copyrightText: NOASSERTION,
    ...extra,
  };
}

function debianPackage(p: DebianPackageRecord): Json {
  return basePackage(debId(p), p.name, p.version, {
    supplier: 'Organization: Debian',
    licenseDeclared: p.license || NOASSERTION,
    checksums: sha256(p.sha256),
    sourceInfo: `built from the Debian source package ${p.source} ${p.sourceVersion}`,
    primaryPackagePurpose: 'LIBRARY',
    externalRefs: [purl(debianPurl(p))],
  });
}

const debId = (p: DebianPackageRecord) => spdxId('deb', p.name, p.arch, p.sha256.slice(0, 12));

function relation(from: string, type: string, to: string): Json {
  return { spdxElementId: from, relationshipType: type, relatedSpdxElement: to };
}

export function spdxDocument(input: SbomInput): Json {
  const node = spdxId('node', input.name);
  const packages: Json[] = [
    basePackage(node, input.name, undefined, { primaryPackagePurpose: 'OPERATING-SYSTEM', comment: 'the node image lkbuild built' }),
  ];
  const relationships: Json[] = [relation('SPDXRef-DOCUMENT', 'DESCRIBES', node)];
  const debs = new Map<string, DebianPackageRecord>();

  const images = [...input.images].sort((a, b) => (a.reference < b.reference ? -1 : a.reference > b.reference ? 1 : 0));
  for (const [i, image] of images.entries()) {
    const id = spdxId('image', String(i + 1), image.reference);
    packages.push(
      basePackage(id, image.reference, image.digest, {
        checksums: sha256(image.digest.replace(/^sha256:/, '')),
        primaryPackagePurpose: 'CONTAINER',
        externalRefs: [purl(ociPurl(image.reference, image.digest))],
        comment: `used as: ${[...image.users].sort().join(', ')}`,
      }),
    );
    relationships.push(relation(node, 'CONTAINS', id));
    for (const p of image.debian) {
      debs.set(debId(p), p);
      relationships.push(relation(id, 'CONTAINS', debId(p)));
    }
  }
  const sortedDebs = [...debs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, p]) => p);
  packages.push(...sortedDebs.map(debianPackage));

  if (input.kernelRelease) {
    const id = spdxId('kernel', 'linux');
    packages.push(
      basePackage(id, 'linux', input.kernelRelease, {
        primaryPackagePurpose: 'OPERATING-SYSTEM',
        licenseDeclared: 'GPL-2.0-only',
        externalRefs: [purl(`pkg:generic/linux@${encodeURIComponent(input.kernelRelease)}`)],
        comment: "the kernel's release, from its boot image",
      }),
    );
    relationships.push(relation(node, 'CONTAINS', id));
  }

  const tool = spdxId('lkbuild');
  packages.push(
    basePackage(tool, 'lkbuild', input.lkbuildVersion, {
      primaryPackagePurpose: 'APPLICATION',
      externalRefs: [purl(`pkg:generic/lkbuild@${encodeURIComponent(input.lkbuildVersion)}`)],
    }),
  );
  relationships.push(relation(tool, 'BUILD_TOOL_OF', node));
  for (const [name, hex] of Object.entries(input.components).sort()) {
    const id = spdxId('lkbuild', name);
    packages.push(
      basePackage(id, name, input.lkbuildVersion, {
        primaryPackagePurpose: 'APPLICATION',
        checksums: sha256(hex),
        externalRefs: [purl(`pkg:generic/${name}@${encodeURIComponent(input.lkbuildVersion)}`)],
      }),
    );
    relationships.push(relation(node, 'CONTAINS', id));
  }

  const refs = [...new Set(sortedDebs.flatMap((p) => licenseRefs(p.license)))].sort();
  const body = { packages, relationships };
  const namespaceHash = createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 32);
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: input.name,
    // Unique per content, and the same for the same inputs; .invalid: it names no real host.
    documentNamespace: `https://lkbuild.invalid/spdx/${encodeURIComponent(input.name)}-${namespaceHash}`,
    creationInfo: {
      created: new Date(input.sourceDateEpoch * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      creators: [`Tool: lkbuild-${input.lkbuildVersion}`],
    },
    documentDescribes: [node],
    ...body,
    ...(refs.length
      ? {
          hasExtractedLicensingInfos: refs.map((id) => ({
            licenseId: id,
            name: id.replace(/^LicenseRef-Debian-/, ''),
            extractedText: `The licence Debian calls ${id.replace(/^LicenseRef-Debian-/, '')}: see the package's /usr/share/doc/NAME/copyright.`,
          })),
        }
      : {}),
  };
}

/** The SBOM's bytes: two-space JSON with a final newline. */
export function sbomBytes(input: SbomInput): Buffer {
  return Buffer.from(`${JSON.stringify(spdxDocument(input), null, 2)}\n`);
}
