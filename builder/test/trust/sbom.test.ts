// The SPDX writer on its own: a package two images share is listed once and contained by
// both; the order of the inputs does not change the bytes; every LicenseRef is declared and
// every expression parses (spdx-expression-parse, npm). The end-to-end SBOM of a real build is
// in qemu-tests/sbom.test.ts.
import parseSpdx from 'spdx-expression-parse';
import { describe, expect, test } from 'vitest';
import type { DebianPackageRecord } from '../../src/trust/package-manifest.js';
import { debianPurl, sbomBytes, spdxDocument, type SbomInput } from '../../src/trust/sbom.js';

const deb = (name: string, version: string, license: string, source = name): DebianPackageRecord => ({
  name,
  version,
  arch: 'amd64',
  source,
  sourceVersion: version,
  sha256: `${name.length.toString(16)}`.padEnd(64, 'a'),
  license,
});

const libc = deb('libc6', '2.36-9+deb12u14', 'GPL-2.0-only AND LGPL-2.1-only', 'glibc');
const input: SbomInput = {
  name: 'demo',
  sourceDateEpoch: 1_700_000_000,
  lkbuildVersion: '0.1.0',
  images: [
    {
      reference: 'lkbuild/sshd:abc',
      digest: `sha256:${'1'.repeat(64)}`,
      users: ['service sshd'],
      debian: [libc, deb('dropbear-bin', '2022.83-1', 'MIT AND LicenseRef-Debian-OpenSSH', 'dropbear')],
    },
    { reference: 'docker.io/library/alpine:3.20', digest: `sha256:${'2'.repeat(64)}`, users: ['onboot a', 'init'], debian: [libc] },
  ],
  kernelRelease: '6.1.192',
  components: { 'lk-run': '3'.repeat(64) },
};

type Doc = {
  packages: Array<{ SPDXID: string; name: string; licenseDeclared: string }>;
  relationships: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }>;
  hasExtractedLicensingInfos?: Array<{ licenseId: string }>;
  creationInfo: { created: string };
};

describe('spdxDocument', () => {
  const doc = spdxDocument(input) as unknown as Doc;

  test('a package two images share is listed once and contained by both', () => {
    const libcs = doc.packages.filter((p) => p.name === 'libc6');
    expect(libcs).toHaveLength(1);
    const containers = doc.relationships
      .filter((r) => r.relatedSpdxElement === libcs[0]!.SPDXID && r.relationshipType === 'CONTAINS')
      .map((r) => r.spdxElementId);
    expect(containers.map((id) => doc.packages.find((p) => p.SPDXID === id)!.name).sort()).toEqual([
      'docker.io/library/alpine:3.20',
      'lkbuild/sshd:abc',
    ]);
  });

  test('the creation time is SOURCE_DATE_EPOCH; LicenseRefs are declared; expressions parse', () => {
    expect(doc.creationInfo.created).toBe('2023-11-14T22:13:20Z');
    expect(doc.hasExtractedLicensingInfos?.map((l) => l.licenseId)).toEqual(['LicenseRef-Debian-OpenSSH']);
    for (const p of doc.packages) if (p.licenseDeclared !== 'NOASSERTION') expect(() => parseSpdx(p.licenseDeclared), p.name).not.toThrow();
  });

  test('the same inputs in another order give the same bytes; another input, another namespace', () => {
    const shuffled: SbomInput = {
      ...input,
      images: [...input.images].reverse().map((i) => ({ ...i, users: [...i.users].reverse() })),
      components: { ...input.components },
    };
    expect(sbomBytes(shuffled).equals(sbomBytes(input))).toBe(true);
    const other = JSON.parse(sbomBytes({ ...input, kernelRelease: '6.1.193' }).toString()) as { documentNamespace: string };
    expect(other.documentNamespace).not.toBe((spdxDocument(input) as { documentNamespace: string }).documentNamespace);
  });

  test('purl: epoch colon and plus signs percent-encoded, the source package as upstream', () => {
    expect(debianPurl(deb('busybox-static', '1:1.35.0-4+deb12u1+b1', 'GPL-2.0-only', 'busybox'))).toBe(
      'pkg:deb/debian/busybox-static@1%3A1.35.0-4%2Bdeb12u1%2Bb1?arch=amd64&upstream=busybox',
    );
    expect(debianPurl(deb('zlib1g', '1:1.2.13.dfsg-1', 'Zlib', 'zlib1g'))).toBe('pkg:deb/debian/zlib1g@1%3A1.2.13.dfsg-1?arch=amd64');
  });
});
