// A local mirror on 127.0.0.1 that relays the real Debian archive (found through the host's apt
// configuration) and can tamper with files, fail with 500s or drop connections on demand.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { LkError } from '../../src/errors.js';
import { fetchPackage, readAptSources, resolvePackages, type DebianSource, type ResolvedPackage } from '../../src/pkg/debian/index.js';

interface Plan {
  /** Remaining 500 responses per path suffix. */
  failures: Map<string, number>;
  /** Paths (by suffix) whose connection is dropped once, before any response. */
  resets: Set<string>;
  tamper?: (path: string, body: Buffer) => Buffer;
  /** Paths (by suffix) whose body is cut off halfway once (headers already sent). */
  cuts: Set<string>;
  /** Serve another upstream path in place of the requested one. */
  rewrite?: (path: string) => string;
}

let server: Server;
let upstream: string;
let mirror: DebianSource;
let plan: Plan;
const hits = new Map<string, number>();
const dirs: string[] = [];
const fast = { retry: { baseDelayMs: 20 } };

async function tempCache(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lk-debian-mirror-'));
  dirs.push(dir);
  return dir;
}

async function filesUnder(dir: string): Promise<string[]> {
  return (await readdir(dir, { recursive: true, withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
}

async function rejection(promise: Promise<unknown>): Promise<LkError> {
  const e = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(LkError);
  return e as LkError;
}

const matching = (path: string, suffixes: Iterable<string>): string | undefined => [...suffixes].find((s) => path.endsWith(s));

beforeAll(async () => {
  const real = readAptSources({ env: {} }).find((s) => s.suite === 'bookworm');
  if (!real) throw new Error('the host apt configuration has no Debian bookworm source');
  upstream = real.uri;
  server = createServer(async (req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const reset = matching(path, plan.resets);
    if (reset) {
      plan.resets.delete(reset);
      req.socket.destroy();
      return;
    }
    const failing = matching(path, plan.failures.keys());
    if (failing && plan.failures.get(failing)! > 0) {
      plan.failures.set(failing, plan.failures.get(failing)! - 1);
      res.writeHead(500).end('try again');
      return;
    }
    const response = await request(upstream + (plan.rewrite ? plan.rewrite(path) : path));
    let body: Buffer = Buffer.from(await response.body.arrayBuffer());
    if (response.statusCode === 200 && plan.tamper) body = plan.tamper(path, body);
    const cut = matching(path, plan.cuts);
    if (cut) {
      plan.cuts.delete(cut);
      res.writeHead(200, { 'content-length': body.length });
      res.write(body.subarray(0, body.length >> 1), () => setTimeout(() => req.socket.destroy(), 20));
      return;
    }
    res.writeHead(response.statusCode, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  [mirror] = readAptSources({ env: { LKBUILD_DEBIAN_MIRROR: `http://127.0.0.1:${port}` } });
});

beforeEach(() => {
  plan = { failures: new Map(), resets: new Set(), cuts: new Set() };
  hits.clear();
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe('signature and checksum verification through a local mirror', () => {
  test('a tampered InRelease is rejected and nothing is cached', async () => {
    plan.tamper = (path, body) => {
      if (!path.endsWith('/InRelease')) return body;
      // Change one hex digit of the Packages.xz checksum: what an attacker would do.
      const text = body.toString('utf8');
      const line = text.split('\n').find((l) => l.endsWith(' main/binary-amd64/Packages.xz') && /^ [0-9a-f]{64} /.test(l))!;
      const flipped = line.replace(/^ (.)/, (_, c: string) => ` ${c === '0' ? '1' : '0'}`);
      return Buffer.from(text.replace(line, flipped));
    };
    const cacheDir = await tempCache();
    const e = await rejection(resolvePackages(['busybox-static'], { cacheDir, sources: [mirror], http: fast }));
    expect(e.message).toMatch(/InRelease: OpenPGP signature verification failed/);
    expect(e.hint).toMatch(/nothing was cached/);
    expect(await filesUnder(cacheDir)).toEqual([]);
  });

  test('an InRelease without its signature is rejected', async () => {
    plan.tamper = (path, body) => {
      if (!path.endsWith('/InRelease')) return body;
      const text = body.toString('utf8');
      return Buffer.from(text.slice(text.indexOf('\n\n') + 2, text.indexOf('-----BEGIN PGP SIGNATURE-----')));
    };
    const cacheDir = await tempCache();
    const e = await rejection(resolvePackages(['busybox-static'], { cacheDir, sources: [mirror], http: fast }));
    expect(e.message).toMatch(/signature verification failed/);
    expect(await filesUnder(cacheDir)).toEqual([]);
  });

  test("another suite's validly signed InRelease is rejected (no suite substitution)", async () => {
    plan.rewrite = (path) => path.replace('/dists/bookworm/', '/dists/bookworm-updates/');
    const cacheDir = await tempCache();
    const e = await rejection(resolvePackages(['busybox-static'], { cacheDir, sources: [mirror], http: fast }));
    expect(e.message).toMatch(/the signed index is for bookworm-updates, not bookworm/);
    expect(await filesUnder(cacheDir)).toEqual([]);
  });

  test('a Packages file that does not match the signed InRelease is rejected before parsing', async () => {
    plan.tamper = (path, body) => {
      if (!path.includes('/binary-amd64/')) return body;
      const copy = Buffer.from(body);
      copy[copy.length >> 1]! ^= 0xff;
      return copy;
    };
    const cacheDir = await tempCache();
    const e = await rejection(resolvePackages(['busybox-static'], { cacheDir, sources: [mirror], http: fast }));
    expect(e.message).toMatch(/Packages\.xz: downloaded file does not match the signed index/);
    expect((await filesUnder(cacheDir)).filter((n) => !n.endsWith('InRelease'))).toEqual([]);
  });
});

// Filled by the first retry test, reused by the later ones (indexes are cached there).
let cacheDir: string;
let busybox: ResolvedPackage;

describe('retries and .deb verification through a local mirror', () => {
  test('500 twice, then success: retried, and the index verifies', async () => {
    cacheDir = await tempCache();
    plan.failures.set('/dists/bookworm/InRelease', 2);
    [busybox] = await resolvePackages(['busybox-static'], { cacheDir, sources: [mirror], http: fast });
    expect(busybox!.name).toBe('busybox-static');
    expect(hits.get('/dists/bookworm/InRelease')).toBe(3);
  });

  test('two fetches of one package at once both succeed and leave one verified file', async () => {
    const [a, b] = await Promise.all([fetchPackage(busybox, { cacheDir, http: fast }), fetchPackage(busybox, { cacheDir, http: fast })]);
    expect(a).toBe(b);
    expect(await readdir(join(cacheDir, 'debs'))).toEqual([`${busybox.sha256}.deb`]);
    await rm(a);
  });

  test('a connection reset is retried', async () => {
    plan.resets.add('.deb');
    const path = await fetchPackage(busybox, { cacheDir, http: fast });
    expect(path.endsWith(`${busybox.sha256}.deb`)).toBe(true);
    expect(hits.get(`/${busybox.filename}`)).toBe(2);
    await rm(path);
  });

  test('a connection cut off in the middle of the body is retried from the start', async () => {
    plan.cuts.add('.deb');
    const path = await fetchPackage(busybox, { cacheDir, http: fast });
    expect(hits.get(`/${busybox.filename}`)).toBe(2);
    expect(await readdir(join(cacheDir, 'debs'))).toEqual([`${busybox.sha256}.deb`]);
    await rm(path);
  });

  test('persistent 500s give up after the bounded number of attempts', async () => {
    plan.failures.set('.deb', 100);
    const e = await rejection(fetchPackage(busybox, { cacheDir, http: { retry: { attempts: 3, baseDelayMs: 10 } } }));
    expect(e.message).toMatch(/failed after 3 attempts: HTTP 500/);
    expect(hits.get(`/${busybox.filename}`)).toBe(3);
  });

  test('a tampered .deb is rejected and not left in the cache', async () => {
    plan.tamper = (path, body) => {
      if (!path.endsWith('.deb')) return body;
      const copy = Buffer.from(body);
      for (let i = 1000; i < 1010; i++) copy[i]! ^= 0xff;
      return copy;
    };
    const e = await rejection(fetchPackage(busybox, { cacheDir, http: fast }));
    expect(e.message).toMatch(/busybox-static_.*\.deb: downloaded file does not match the signed index/);
    expect(e.hint).toMatch(/nothing was kept/);
    expect(await readdir(join(cacheDir, 'debs'))).toEqual([]);
  });

  test('a truncated .deb is rejected too', async () => {
    plan.tamper = (path, body) => (path.endsWith('.deb') ? body.subarray(0, body.length - 1) : body);
    const e = await rejection(fetchPackage(busybox, { cacheDir, http: fast }));
    expect(e.message).toMatch(/size \d+, expected \d+/);
    expect(await readdir(join(cacheDir, 'debs'))).toEqual([]);
  });

  test('the cached InRelease is reused within its freshness window, refetched after it', async () => {
    await resolvePackages(['busybox-static'], { cacheDir, sources: [mirror], http: fast });
    expect(hits.get('/dists/bookworm/InRelease')).toBeUndefined();
    await resolvePackages(['busybox-static'], { cacheDir, sources: [mirror], http: fast, indexMaxAgeMinutes: 0 });
    expect(hits.get('/dists/bookworm/InRelease')).toBe(1);
    expect([...hits.keys()].filter((p) => p.includes('binary-amd64'))).toEqual([]); // Packages by sha256 from the cache
  });
});

describe('mirror quirks', () => {
  test('a mirror without by-hash files falls back to the plain Packages path', async () => {
    plan.rewrite = (path) => path.replace('/by-hash/', '/no-such-by-hash/');
    const cacheDir = await tempCache();
    const [busybox] = await resolvePackages(['busybox-static'], { cacheDir, sources: [mirror], http: fast });
    expect(busybox!.name).toBe('busybox-static');
    const paths = [...hits.keys()];
    expect(paths.some((p) => p.includes('/by-hash/SHA256/'))).toBe(true);
    expect(paths).toContain('/dists/bookworm/main/binary-amd64/Packages.xz');
  });
});

describe('offline', () => {
  test('when the mirror is down, a stale cached index that still verifies is used', async () => {
    plan.failures.set('/InRelease', 100);
    hits.clear();
    const packages = await resolvePackages(['busybox-static'], { cacheDir, sources: [mirror], http: fast, indexMaxAgeMinutes: 0 });
    expect(packages.map((p) => p.name)).toEqual(['busybox-static']);
    expect(hits.get('/dists/bookworm/InRelease')).toBe(5); // tried (the default 5 attempts), then fell back
  });
});
