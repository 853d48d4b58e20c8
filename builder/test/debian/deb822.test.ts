import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { field, parseDeb822, parseStanza, streamStanzas } from '../../src/pkg/debian/deb822.js';
import { checkSuite, checkValidUntil, parseRelease } from '../../src/pkg/debian/release.js';
import { parseProvides, parseRelations } from '../../src/pkg/debian/relations.js';
import { readAptSources } from '../../src/pkg/debian/sources.js';

const PACKAGES = `Package: busybox-static
Source: busybox (1:1.35.0-4)
Version: 1:1.35.0-4+b3
Installed-Size: 2106
Maintainer: Debian Install System Team <debian-boot@lists.debian.org>
Architecture: amd64
Replaces: busybox
Provides: busybox
Conflicts: busybox
Description: Standalone rescue shell with tons of builtin utilities
Built-Using: glibc (= 2.36-8)
Description-md5: 8b2fd9ec2bbd9d8c6ce5e9ed3c6cb1ce
Section: shells
Priority: optional
Filename: pool/main/b/busybox/busybox-static_1.35.0-4+b3_amd64.deb
Size: 911176
SHA256: 0fb3b1a6d1d2c3b4a5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708192a3b4c

Package: iproute2
Version: 6.1.0-3
Architecture: amd64
Depends: debconf (>= 0.5) | debconf-2.0, libbpf1 (>= 1:0.6.0),
 libc6 (>= 2.34), libcap2 (>= 1:2.10)
Pre-Depends: init-system-helpers (>= 1.54~)
Description: networking and traffic control tools
 The iproute2 suite is a collection of utilities.
 .
 Second paragraph.
Filename: pool/main/i/iproute2/iproute2_6.1.0-3_amd64.deb
Size: 1046536
SHA256: 1111111111111111111111111111111111111111111111111111111111111111
`;

describe('deb822 parsing', () => {
  test('fields, case-insensitive lookup, continuation lines', () => {
    const [busybox, iproute2] = parseDeb822(PACKAGES);
    expect(field(busybox!, 'package')).toBe('busybox-static');
    expect(field(busybox!, 'VERSION')).toBe('1:1.35.0-4+b3');
    expect(field(busybox!, 'Size')).toBe('911176');
    expect(field(iproute2!, 'Depends')).toBe('debconf (>= 0.5) | debconf-2.0, libbpf1 (>= 1:0.6.0),\nlibc6 (>= 2.34), libcap2 (>= 1:2.10)');
    expect(field(iproute2!, 'Description')).toBe(
      'networking and traffic control tools\nThe iproute2 suite is a collection of utilities.\n.\nSecond paragraph.',
    );
  });

  test("a field filter keeps only the wanted fields and drops their neighbours' continuations", () => {
    const s = parseStanza(PACKAGES.split('\n\n')[1]!, { fields: new Set(['package', 'filename']) });
    expect([...s.keys()]).toEqual(['package', 'filename']);
  });

  test('comments, CRLF and whitespace-only separator lines in sources files', () => {
    const text = '# leading comment\r\nTypes: deb\r\n# inside\r\nURIs: http://a/debian\r\n  \r\nTypes: deb-src\r\nURIs: http://b\r\n';
    const stanzas = parseDeb822(text, { comments: true });
    expect(stanzas).toHaveLength(2);
    expect(field(stanzas[0]!, 'uris')).toBe('http://a/debian');
  });

  test('streaming gives the same stanzas whatever the chunk boundaries', async () => {
    const whole = parseDeb822(PACKAGES).map((s) => Object.fromEntries(s));
    for (const size of [1, 7, 64, 100_000]) {
      async function* chunks() {
        for (let i = 0; i < PACKAGES.length; i += size) yield PACKAGES.slice(i, i + size);
      }
      const streamed = [];
      for await (const s of streamStanzas(chunks())) streamed.push(Object.fromEntries(s));
      expect(streamed).toEqual(whole);
    }
  });

  test('Release: SHA256 list and flags', () => {
    const release = parseRelease(`Origin: Debian
Suite: oldstable
Codename: bookworm
Valid-Until: Sat, 28 Nov 2026 00:53:02 UTC
Acquire-By-Hash: yes
Components: main contrib
MD5Sum:
 0ed6d4c8891eb86358b94bb35d9e4da4  1484322 contrib/Contents-all
SHA256:
 9e0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5  8790396 main/binary-amd64/Packages.xz
 515e692f2c4121c6fcec444ef100cc18f79a991910615f3a88c8b7becfc94d2f 50060337 main/binary-amd64/Packages
`);
    expect(release.codename).toBe('bookworm');
    expect(release.acquireByHash).toBe(true);
    expect(release.notAutomatic).toBe(false);
    expect(release.validUntil?.toISOString()).toBe('2026-11-28T00:53:02.000Z');
    expect(release.files.get('main/binary-amd64/Packages.xz')).toEqual({
      sha256: '9e0b5aabb2465b3d2e7a7fe27f9913846277833f7a2826e7767acccff5b588c5',
      size: 8790396,
    });
    expect(release.files.has('contrib/Contents-all')).toBe(false); // MD5 only: not trusted
    expect(() => checkValidUntil(release, 'x', new Date('2026-11-27T00:00:00Z'))).not.toThrow();
    expect(() => checkValidUntil(release, 'x', new Date('2026-11-29T00:00:00Z'))).toThrow(/expired on 2026-11-28/);
    expect(() => checkSuite(release, 'bookworm', 'x')).not.toThrow();
    expect(() => checkSuite(release, 'oldstable', 'x')).not.toThrow();
    expect(() => checkSuite(release, 'bookworm-security', 'x')).toThrow(/for bookworm, not bookworm-security/);
  });
});

describe('relationship fields', () => {
  test('groups, alternatives, versions, arch qualifiers', () => {
    expect(parseRelations('libc6 (>= 2.34), debconf (>= 0.5) | debconf-2.0, python3:any (<< 3.12), perl:native')).toEqual([
      [{ name: 'libc6', op: '>=', version: '2.34' }],
      [{ name: 'debconf', op: '>=', version: '0.5' }, { name: 'debconf-2.0' }],
      [{ name: 'python3', archQualifier: 'any', op: '<<', version: '3.12' }],
      [{ name: 'perl', archQualifier: 'native' }],
    ]);
    expect(parseRelations('foo(>=1.0),\n bar')).toEqual([[{ name: 'foo', op: '>=', version: '1.0' }], [{ name: 'bar' }]]);
    expect(parseRelations(undefined)).toEqual([]);
    expect(() => parseRelations('foo (>= )')).toThrow(/malformed/);
  });

  test('Provides with and without versions', () => {
    expect(parseProvides('libfoo (= 1.2-3), awk')).toEqual([{ name: 'libfoo', op: '=', version: '1.2-3' }, { name: 'awk' }]);
  });
});

describe('apt sources', () => {
  async function aptDir(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'lk-apt-'));
    await mkdir(join(dir, 'sources.list.d'));
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return dir;
  }

  test('LKBUILD_DEBIAN_MIRROR overrides the apt configuration', () => {
    expect(readAptSources({ env: { LKBUILD_DEBIAN_MIRROR: 'http://127.0.0.1:9/debian/' }, aptDir: '/nonexistent' })).toEqual([
      {
        uri: 'http://127.0.0.1:9/debian',
        suite: 'bookworm',
        components: ['main'],
        keyring: '/usr/share/keyrings/debian-archive-keyring.gpg',
      },
    ]);
  });

  test('deb822 and one-line files; third-party, deb-src, other-arch, disabled and unknown-extension entries skipped', async () => {
    const dir = await aptDir({
      'sources.list': [
        'deb http://m.example/debian bookworm main contrib # trailing comment',
        'deb-src http://m.example/debian bookworm main',
        'deb [arch=arm64] http://m.example/debian bookworm-backports main',
        'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://m.example/debian bookworm main non-free-firmware',
        'deb https://vendor.example/apt stable main',
      ].join('\n'),
      'sources.list.d/debian.sources': `Types: deb
URIs: http://m.example/debian
Suites: bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://m.example/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://m.example/debian
Suites: trixie
Components: main
Enabled: no
`,
      'sources.list.d/vendor.sources': `Types: deb
URIs: https://vendor.example/node
Suites: nodistro
Components: main
Architectures: amd64
Signed-By: /usr/share/keyrings/vendor.gpg
`,
      'sources.list.d/other.list.disabled': 'deb http://m.example/debian sid main\n',
    });
    const sources = readAptSources({ env: {}, aptDir: dir });
    expect(sources.map((s) => `${s.uri} ${s.suite} ${s.components.join(',')}`)).toEqual([
      'http://m.example/debian bookworm main,contrib,non-free-firmware',
      'http://m.example/debian bookworm-updates main',
      'http://m.example/debian-security bookworm-security main',
    ]);
  });

  test('the host configuration yields Debian sources only', () => {
    const sources = readAptSources({ env: {} });
    expect(sources.length).toBeGreaterThan(0);
    for (const s of sources) expect(s.keyring).toMatch(/debian-archive-/);
  });
});
