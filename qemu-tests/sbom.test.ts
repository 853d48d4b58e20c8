import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { PackageURL } from 'packageurl-js';
import parseSpdx from 'spdx-expression-parse';
import { beforeAll, describe, expect, test } from 'vitest';
import { lkbuild } from './harness.js';

/**
 * The SPDX 2.3 SBOM of examples/node.yml, written beside the outputs by the real CLI. Checked by
 * third parties where one exists: every licence expression by spdx-expression-parse, every purl
 * by packageurl-js (npm), the Debian facts against the cached .deb with dpkg-deb, the kernel's
 * release against file(1). (No npm or Debian package ships the SPDX 2.3 document schema or a
 * validator of it: @datadog/datadog-ci-plugin-sbom 5.25.0 validates CycloneDX 1.4-1.6 only, its
 * spdx.schema.json being CycloneDX's licence-id list; @cyclonedx/cdxgen 12.8.4 ships the SPDX
 * 3.0.1 JSON-LD schema; Debian bookworm has only licence-list packages. The document's required
 * fields are checked here as the SPDX 2.3 specification lists them.)
 */
const repo = resolve(import.meta.dirname, '..');
const example = join(repo, 'examples/node.yml');
const debCache = join(
  process.env.LKBUILD_CACHE || join(process.env.XDG_CACHE_HOME || join(process.env.HOME ?? '/root', '.cache'), 'lkbuild'),
  'debian/debs',
);

type Pkg = {
  SPDXID: string;
  name: string;
  versionInfo?: string;
  downloadLocation: string;
  licenseDeclared?: string;
  licenseConcluded?: string;
  sourceInfo?: string;
  checksums?: Array<{ algorithm: string; checksumValue: string }>;
  externalRefs?: Array<{ referenceCategory: string; referenceType: string; referenceLocator: string }>;
};
type Doc = {
  spdxVersion: string;
  dataLicense: string;
  SPDXID: string;
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  documentDescribes: string[];
  packages: Pkg[];
  relationships: Array<{ spdxElementId: string; relationshipType: string; relatedSpdxElement: string }>;
  hasExtractedLicensingInfos?: Array<{ licenseId: string; extractedText: string }>;
};

async function buildExample(args: string[] = []): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), 'lk-sbom-'));
  const r = await lkbuild(['build', '-o', out, ...args, example], { timeoutMs: 1_500_000 });
  if (r.exitCode !== 0) throw new Error(`lkbuild build failed (${r.exitCode}):\n${r.stderr}`);
  return out;
}

const purlOf = (p: Pkg) => p.externalRefs?.find((r) => r.referenceType === 'purl')?.referenceLocator;

describe('SBOM of examples/node.yml', () => {
  let out: string;
  let bytes: Buffer;
  let doc: Doc;

  beforeAll(async () => {
    out = await buildExample();
    bytes = await readFile(join(out, 'node.spdx.json'));
    doc = JSON.parse(bytes.toString('utf8')) as Doc;
  }, 1_800_000);

  test('an SPDX 2.3 document with the fields the specification requires', () => {
    expect(doc.spdxVersion).toBe('SPDX-2.3');
    expect(doc.dataLicense).toBe('CC0-1.0');
    expect(doc.SPDXID).toBe('SPDXRef-DOCUMENT');
    expect(doc.name).toBe('node');
    expect(() => new URL(doc.documentNamespace)).not.toThrow();
    expect(doc.documentNamespace).not.toContain('#');
    expect(doc.creationInfo.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(doc.creationInfo.creators[0]).toMatch(/^Tool: \S+/);
    const ids = new Set<string>(['SPDXRef-DOCUMENT']);
    for (const p of doc.packages) {
      expect(p.SPDXID, p.name).toMatch(/^SPDXRef-[A-Za-z0-9.-]+$/);
      expect(ids.has(p.SPDXID), `${p.SPDXID} twice`).toBe(false);
      ids.add(p.SPDXID);
      expect(p.name).not.toBe('');
      expect(p.downloadLocation).toBeTruthy();
    }
    for (const r of doc.relationships) {
      expect(ids.has(r.spdxElementId), r.spdxElementId).toBe(true);
      expect(ids.has(r.relatedSpdxElement), r.relatedSpdxElement).toBe(true);
    }
    for (const d of doc.documentDescribes) expect(ids.has(d)).toBe(true);
  });

  test('every licence expression parses (spdx-expression-parse) and every LicenseRef is declared', () => {
    const declared = new Set((doc.hasExtractedLicensingInfos ?? []).map((l) => l.licenseId));
    for (const p of doc.packages) {
      for (const l of [p.licenseDeclared, p.licenseConcluded]) {
        if (!l || l === 'NOASSERTION' || l === 'NONE') continue;
        expect(() => parseSpdx(l), `${p.name}: ${l}`).not.toThrow();
        for (const ref of l.match(/LicenseRef-[A-Za-z0-9.-]+/g) ?? []) expect(declared.has(ref), ref).toBe(true);
      }
    }
  });

  test('every Debian package has a purl packageurl-js reads back to its name, version and arch', () => {
    const debs = doc.packages.filter((p) => purlOf(p)?.startsWith('pkg:deb/'));
    expect(debs.length).toBeGreaterThan(5);
    for (const p of debs) {
      const u = PackageURL.fromString(purlOf(p)!);
      expect([u.type, u.namespace, u.name, u.version]).toEqual(['deb', 'debian', p.name, p.versionInfo]);
      expect(['amd64', 'all']).toContain(u.qualifiers?.arch); // 'all': Debian's architecture-independent packages
      expect(p.sourceInfo).toMatch(/^built from the Debian source package \S+ \S+$/);
      expect(p.checksums?.[0]?.algorithm).toBe('SHA256');
    }
  });

  test('busybox-static: the version and checksum of the .deb that went in (dpkg-deb), source busybox, GPL-2.0-only', async () => {
    const busybox = doc.packages.find((p) => p.name === 'busybox-static')!;
    expect(busybox).toBeDefined();
    expect(busybox.licenseDeclared).toBe('GPL-2.0-only');
    const sha = busybox.checksums![0]!.checksumValue;
    const deb = join(debCache, `${sha}.deb`);
    expect(
      createHash('sha256')
        .update(await readFile(deb))
        .digest('hex'),
    ).toBe(sha);
    const field = async (f: string) => (await execa('dpkg-deb', ['-f', deb, f])).stdout.trim();
    expect(busybox.versionInfo).toBe(await field('Version'));
    expect(await field('Package')).toBe('busybox-static');
    expect(busybox.sourceInfo).toContain(`source package ${(await field('Source')).split(' ')[0]} `);
    expect(purlOf(busybox)).toMatch(/^pkg:deb\/debian\/busybox-static@1%3A1\.35\.0-[^?]+\?arch=amd64&upstream=busybox$/);
  });

  test('every image by reference and digest; the digests are blobs in the cache', async () => {
    const images = doc.packages.filter((p) => purlOf(p)?.startsWith('pkg:oci/'));
    expect(images.map((p) => p.name.split(':')[0]).sort()).toEqual([
      'lkbuild/busybox',
      'lkbuild/dhcpcd',
      'lkbuild/format',
      'lkbuild/init',
      'lkbuild/kernel',
      'lkbuild/metadata',
      'lkbuild/mount',
      'lkbuild/ntp',
      'lkbuild/sshd',
    ]);
    const blobs = new Set(await readdir(join(debCache, '../../blobs/sha256')));
    for (const p of images) {
      expect(p.versionInfo).toMatch(/^sha256:[0-9a-f]{64}$/);
      expect(blobs.has(p.versionInfo!.slice(7)), p.name).toBe(true);
    }
  });

  test("the kernel's release as file(1) reads it from the kernel; lkbuild, lk-init and lk-run", async () => {
    const { stdout } = await execa('file', ['-b', join(out, 'node-kernel')]);
    const release = /version (\S+)/.exec(stdout)![1];
    expect(doc.packages.find((p) => p.name === 'linux')?.versionInfo).toBe(release);
    const ours = doc.packages
      .filter((p) => ['lkbuild', 'lk-init', 'lk-run'].includes(p.name))
      .map((p) => p.name)
      .sort();
    expect(ours).toEqual(['lk-init', 'lk-run', 'lkbuild']);
  });

  test('deterministic: a second build elsewhere gives the same bytes; --no-sbom writes none', async () => {
    const again = await buildExample();
    expect((await readFile(join(again, 'node.spdx.json'))).equals(bytes)).toBe(true);
    const none = await buildExample(['--no-sbom']);
    expect((await readdir(none)).sort()).toEqual(['node-cmdline', 'node-initrd.img', 'node-kernel']);
  }, 600_000);
});
