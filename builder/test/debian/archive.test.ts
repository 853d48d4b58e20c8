// Against the real Debian archive, through the host's apt configuration. The indexes are fetched
// once into a cache directory shared by the tests of this file.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LkError } from '../../src/errors.js';
import {
  debDataEntries,
  fetchPackage,
  fetchPackages,
  readAptSources,
  resolvePackages,
  type ResolvedPackage,
} from '../../src/pkg/debian/index.js';

let cacheDir: string;
let coldMs: number;
let busybox: ResolvedPackage;

beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'lk-debian-archive-'));
  const started = performance.now();
  [busybox] = await resolvePackages(['busybox-static'], { cacheDir });
  coldMs = performance.now() - started;
  console.log(`cold index fetch + verify + parse + resolve: ${coldMs.toFixed(0)} ms`);
});

afterAll(async () => {
  await rm(cacheDir, { recursive: true, force: true });
});

async function rejection(promise: Promise<unknown>): Promise<LkError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(LkError);
  return e as LkError;
}

describe('the real Debian archive', () => {
  test('the host has Debian sources', () => {
    expect(readAptSources().length).toBeGreaterThan(0);
  });

  test('busybox-static resolves alone (it has no dependencies)', async () => {
    const packages = await resolvePackages(['busybox-static'], { cacheDir });
    expect(packages.map((p) => p.name)).toEqual(['busybox-static']);
    expect(busybox.name).toBe('busybox-static');
    expect(busybox.arch).toBe('amd64');
    expect(busybox.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(busybox.filename).toMatch(/^pool\/main\/b\/busybox\/busybox-static_.*_amd64\.deb$/);
  });

  test('dropbear-bin and iproute2 pull a real closure with libc6, deterministically', async () => {
    const started = performance.now();
    const packages = await resolvePackages(['iproute2', 'dropbear-bin'], { cacheDir });
    const warmMs = performance.now() - started;
    console.log(`warm resolve of ${packages.length} packages: ${warmMs.toFixed(0)} ms`);
    const names = packages.map((p) => p.name);
    expect(names).toContain('libc6');
    expect(names).toContain('iproute2');
    expect(names).toContain('dropbear-bin');
    expect(names).toContain('libtomcrypt1');
    expect(names).toEqual([...names].sort());
    expect(new Set(names).size).toBe(names.length);
    const again = await resolvePackages(['dropbear-bin', 'iproute2'], { cacheDir });
    expect(again).toEqual(packages);
    expect(warmMs).toBeLessThan(coldMs);
  });

  test('a newer version from a second suite wins over bookworm (security/updates merge)', async () => {
    // libc6 and libssl3 get updates through bookworm-updates/security; the chosen one must be the highest.
    const sources = readAptSources();
    if (sources.length < 2) throw new Error('the host apt configuration is expected to list several Debian suites');
    const [libc6] = await resolvePackages(['libc6'], { cacheDir, exclude: ['libgcc-s1'] });
    const fromMainOnly = await resolvePackages(['libc6'], { cacheDir, exclude: ['libgcc-s1'], sources: [sources[0]!] });
    const { compareVersions } = await import('../../src/pkg/debian/version.js');
    expect(compareVersions(libc6!.version, fromMainOnly[0]!.version)).toBeGreaterThanOrEqual(0);
  });

  test('fetches, verifies and reuses busybox-static; its data.tar holds /bin/busybox', async () => {
    const path = await fetchPackage(busybox, { cacheDir });
    const started = performance.now();
    expect(await fetchPackage(busybox, { cacheDir })).toBe(path); // from the cache
    console.log(`cached fetch (re-hash ${busybox.size} bytes): ${(performance.now() - started).toFixed(0)} ms`);

    const names: string[] = [];
    let busyboxHash = '';
    for await (const { header, stream } of debDataEntries(path)) {
      names.push(header.name);
      if (header.name === './bin/busybox') {
        expect(header.type).toBe('file');
        const hash = createHash('sha256');
        for await (const chunk of stream as AsyncIterable<Buffer>) hash.update(chunk);
        busyboxHash = hash.digest('hex');
      }
    }
    expect(names).toContain('./bin/busybox');
    expect(names[0]).toBe('./');
    expect(busyboxHash).toMatch(/^[0-9a-f]{64}$/);
  });

  test('a whole closure downloads in parallel, every file verified', async () => {
    const closure = await resolvePackages(['dropbear-bin'], { cacheDir });
    const started = performance.now();
    const paths = await fetchPackages(closure, { cacheDir, concurrency: 4 });
    const bytes = closure.reduce((sum, p) => sum + p.size, 0);
    console.log(`fetched ${closure.length} .debs (${(bytes / 1e6).toFixed(1)} MB) in ${(performance.now() - started).toFixed(0)} ms`);
    expect(paths).toHaveLength(closure.length);
    paths.forEach((path, i) => expect(path.endsWith(`${closure[i]!.sha256}.deb`)).toBe(true));
  });

  test('a damaged cached .deb is replaced, not used', async () => {
    const path = await fetchPackage(busybox, { cacheDir });
    await writeFile(path, 'garbage');
    expect(await fetchPackage(busybox, { cacheDir })).toBe(path);
    const entries = [];
    for await (const e of debDataEntries(path)) {
      entries.push(e.header.name);
      e.stream.resume();
    }
    expect(entries).toContain('./bin/busybox');
  });

  test('unknown names suggest close ones', async () => {
    const e = await rejection(resolvePackages(['busybox-statik'], { cacheDir }));
    expect(e.message).toMatch(/unknown Debian package "busybox-statik"/);
    expect(e.hint).toMatch(/busybox-static/);
  });

  test('a pinned version that does not exist lists the available ones', async () => {
    const e = await rejection(resolvePackages(['busybox-static=0.1-1'], { cacheDir }));
    expect(e.message).toMatch(/busybox-static is not available in version 0\.1-1/);
    expect(e.hint).toContain(`busybox-static=${busybox.version}`);
    const pinned = await resolvePackages([`busybox-static=${busybox.version}`], { cacheDir });
    expect(pinned).toEqual([busybox]);
  });

  test('no sources is an error with a hint', async () => {
    const e = await rejection(resolvePackages(['busybox-static'], { cacheDir, sources: [] }));
    expect(e.message).toMatch(/no Debian package sources/);
    expect(e.hint).toMatch(/LKBUILD_DEBIAN_MIRROR/);
  });

  test('an unreachable mirror is a network error with a hint', async () => {
    const sources = [
      {
        uri: 'http://127.0.0.1:9/debian',
        suite: 'bookworm',
        components: ['main'],
        keyring: '/usr/share/keyrings/debian-archive-keyring.gpg',
      },
    ];
    const e = await rejection(
      resolvePackages(['busybox-static'], { cacheDir, sources, http: { retry: { attempts: 2, baseDelayMs: 10 } } }),
    );
    expect(e.message).toMatch(/failed after 2 attempts/);
    expect(e.hint).toMatch(/unreachable/);
  });

  test('the cache holds only verified files, no temp files', async () => {
    const debs = await readdir(join(cacheDir, 'debs'));
    expect(debs.every((n) => /^[0-9a-f]{64}\.deb$/.test(n))).toBe(true);
    const indexes = await readdir(join(cacheDir, 'indexes'));
    expect(indexes.some((n) => n.includes('.tmp-'))).toBe(false);
  });
});
