import { describe, expect, test } from 'vitest';
import { LkError } from '../../src/errors.js';
import type { PackageRecord, SourceIndex } from '../../src/pkg/debian/packages-index.js';
import { PackageUniverse, resolveClosure } from '../../src/pkg/debian/resolve.js';
import type { DebianSource } from '../../src/pkg/debian/sources.js';
import { closestNames } from '../../src/pkg/debian/suggest.js';

const source = (suite: string): DebianSource => ({ uri: 'http://127.0.0.1:9/debian', suite, components: ['main'], keyring: '/k.gpg' });

function pkg(name: string, version: string, fields: Partial<PackageRecord> = {}): PackageRecord {
  return { name, version, arch: 'amd64', filename: `pool/${name}_${version}.deb`, sha256: '0'.repeat(64), size: 1, ...fields };
}

function index(suite: string, packages: PackageRecord[], notAutomatic = false): SourceIndex {
  return { source: source(suite), key: suite, notAutomatic, packages };
}

function resolve(indexes: SourceIndex[], names: string[], exclude?: string[]) {
  return resolveClosure(new PackageUniverse(indexes, 'amd64'), { names, exclude }).map((c) => `${c.name}=${c.version}@${c.source.suite}`);
}

function errorOf(fn: () => unknown): LkError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(LkError);
    return e as LkError;
  }
  throw new Error('expected an LkError');
}

const main = index('bookworm', [
  pkg('app', '1.0-1', { depends: 'libc6 (>= 2.34), mail-transport-agent | postfix, awk' }),
  pkg('libc6', '2.36-9', { depends: 'libgcc-s1' }),
  pkg('libgcc-s1', '12.2.0-14', { depends: 'gcc-12-base (= 12.2.0-14), libc6 (>= 2.35)' }),
  pkg('gcc-12-base', '12.2.0-14', { arch: 'amd64' }),
  pkg('postfix', '3.7', { provides: 'mail-transport-agent' }),
  pkg('exim4', '4.96', { provides: 'mail-transport-agent' }),
  pkg('mawk', '1.3.4', { provides: 'awk', priority: 'required' }),
  pkg('gawk', '5.2', { provides: 'awk', priority: 'optional' }),
  pkg('tool', '2.0', { preDepends: 'libc6 (>= 2.40)' }),
  pkg('docs', '1.0', { arch: 'all' }),
  pkg('armonly', '1.0', { arch: 'arm64' }),
  pkg('needs-versioned-virtual', '1.0', { depends: 'libfoo-abi (>= 2)' }),
  pkg('libfoo2', '2.1', { provides: 'libfoo-abi (= 2.1)' }),
  pkg('libfoo-unversioned', '9', { provides: 'libfoo-abi' }),
]);
const updates = index('bookworm-updates', [pkg('libc6', '2.36-9+deb12u4', { depends: 'libgcc-s1' })]);
const backports = index('bookworm-backports', [pkg('libc6', '2.40-1~bpo12+1', { depends: 'libgcc-s1' })], true);

describe('dependency closure', () => {
  test('follows Depends and Pre-Depends; highest version across sources wins; sorted by name', () => {
    expect(resolve([main, updates], ['app'])).toEqual([
      'app=1.0-1@bookworm',
      'exim4=4.96@bookworm', // virtual, providers of equal priority: alphabetically first
      'gcc-12-base=12.2.0-14@bookworm',
      'libc6=2.36-9+deb12u4@bookworm-updates',
      'libgcc-s1=12.2.0-14@bookworm',
      'mawk=1.3.4@bookworm', // virtual: the provider of highest Priority
    ]);
  });

  test('a group already satisfied by a selected package is left alone (requested postfix, mawk)', () => {
    const names = resolve([main], ['app', 'postfix', 'mawk']);
    expect(names).toContain('postfix=3.7@bookworm');
    expect(names).toContain('mawk=1.3.4@bookworm');
    expect(names.some((n) => n.startsWith('exim4') || n.startsWith('gawk'))).toBe(false);
  });

  test('exclude treats a name as present, and an excluded package is never chosen as a provider', () => {
    expect(resolve([main], ['app'], ['libc6', 'exim4', 'awk'])).toEqual(['app=1.0-1@bookworm', 'postfix=3.7@bookworm']);
    expect(resolve([main], ['app'], ['libc6', 'mail-transport-agent', 'awk'])).toEqual(['app=1.0-1@bookworm']);
  });

  test('NotAutomatic suites are used only when needed: a versioned dependency reaches into backports', () => {
    expect(resolve([main, backports], ['libc6'])).toEqual([
      'gcc-12-base=12.2.0-14@bookworm',
      'libc6=2.36-9@bookworm',
      'libgcc-s1=12.2.0-14@bookworm',
    ]);
    expect(resolve([main, backports], ['tool'])).toContain('libc6=2.40-1~bpo12+1@bookworm-backports');
  });

  test('pinned versions', () => {
    expect(resolve([main, updates], ['libc6=2.36-9'])).toContain('libc6=2.36-9@bookworm');
    const e = errorOf(() => resolve([main, updates], ['libc6=2.99']));
    expect(e.message).toMatch(/libc6 is not available in version 2\.99/);
    expect(e.hint).toContain('libc6=2.36-9+deb12u4');
    expect(e.hint).toContain('libc6=2.36-9');
  });

  test('a versioned dependency needs a versioned Provides', () => {
    expect(resolve([main], ['needs-versioned-virtual'])).toEqual(['libfoo2=2.1@bookworm', 'needs-versioned-virtual=1.0@bookworm']);
  });

  test('Architecture: all is accepted, other architectures are not', () => {
    expect(resolve([main], ['docs'])).toEqual(['docs=1.0@bookworm']);
    expect(errorOf(() => resolve([main], ['armonly'])).message).toMatch(/unknown Debian package "armonly"/);
  });

  test('unknown names suggest close ones', () => {
    const e = errorOf(() => resolve([main], ['libc7']));
    expect(e.message).toMatch(/unknown Debian package "libc7"/);
    expect(e.hint).toMatch(/did you mean: libc6/);
  });

  test('an unsatisfiable dependency names the package and the relation', () => {
    const broken = index('bookworm', [pkg('a', '1', { depends: 'b (>= 2) | c' }), pkg('b', '1')]);
    const e = errorOf(() => resolve([broken], ['a']));
    expect(e.message).toMatch(/cannot satisfy a 1's dependency on b \(>= 2\) \| c \(b has 1; c does not exist\)/);
  });

  test('the result does not depend on the order of the request', () => {
    expect(resolve([main], ['postfix', 'app'])).toEqual(resolve([main], ['app', 'postfix']));
  });
});

describe('name suggestions', () => {
  test('closest names first', () => {
    expect(closestNames('busybox-statik', ['busybox', 'busybox-static', 'busybox-syslogd', 'bash'])).toEqual([
      'busybox-static',
      'busybox-syslogd',
      'busybox',
    ]);
  });
});
