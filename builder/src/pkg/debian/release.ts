/**
 * InRelease: the clearsigned root of trust of a suite. We check its OpenPGP signature with
 * `gpgv` against the source's keyring and use only the text gpgv says was signed (never the
 * bytes around the signature block). Its SHA256 list then vouches for every index file.
 */
import { LkError } from '../../errors.js';
import { field, parseStanza } from './deb822.js';
import { runCaptured } from '../../util/run.js';

export interface IndexFileEntry {
  sha256: string;
  size: number;
}

export interface ReleaseInfo {
  suite?: string;
  codename?: string;
  validUntil?: Date;
  /** Index files may be fetched by content hash (by-hash/SHA256/<hash>), immune to mid-update races. */
  acquireByHash: boolean;
  /** Suites such as backports: their packages are used only when pinned explicitly. */
  notAutomatic: boolean;
  components: string[];
  /** Path relative to dists/<suite>/ -> checksum. */
  files: Map<string, IndexFileEntry>;
}

interface GpgvResult {
  code: number | null;
  plaintext: Buffer;
  status: string;
  stderr: string;
}

async function runGpgv(signed: Buffer, keyring: string): Promise<GpgvResult> {
  // Status lines on fd 3, the signed text on stdout, the message on stdin.
  const r = await runCaptured('gpgv', ['--keyring', keyring, '--status-fd', '3', '--output', '-', '-'], { input: signed, fd3: true });
  if (r.failure) throw new LkError('debian', `cannot run gpgv: ${r.failure}`, 'install the Debian package gpgv on the build host');
  return { code: r.exitCode ?? null, plaintext: r.stdout, status: r.fd3, stderr: r.stderr };
}

/**
 * Verify a clearsigned InRelease with `keyring` and return the signed text. At least one good
 * signature and no bad one are required (a signature by a key we lack is ignored, as apt does).
 */
export async function verifyInRelease(signed: Buffer, keyring: string, what: string): Promise<string> {
  const result = await runGpgv(signed, keyring);
  const lines = result.status.split('\n');
  // EXPKEYSIG/REVKEYSIG (expired or revoked key) count as neither good nor bad, as in apt.
  const bad = lines.filter((l) => l.startsWith('[GNUPG:] BADSIG '));
  const good = lines.filter((l) => l.startsWith('[GNUPG:] GOODSIG '));
  if (bad.length > 0 || good.length === 0) {
    const detail = result.stderr
      .split('\n')
      .filter((l) => /BAD|no signature|No public key|not found|error/i.test(l))[0]
      ?.trim();
    throw new LkError(
      'debian',
      `${what}: OpenPGP signature verification failed${detail ? ` (${detail})` : bad.length ? '' : ' (no valid signature)'}`,
      `the index was not signed by a key in ${keyring}: the mirror or the network path is serving tampered data, or the keyring is out of date (update debian-archive-keyring); nothing was cached`,
    );
  }
  return result.plaintext.toString('utf8');
}

function parseDate(value: string | undefined): Date | undefined {
  if (!value) return undefined;
  const d = new Date(value.replace(/ UTC$/, ' GMT'));
  return Number.isNaN(d.getTime()) ? undefined : d;
}

export function parseRelease(text: string): ReleaseInfo {
  const stanza = parseStanza(text, {
    fields: new Set(['suite', 'codename', 'valid-until', 'acquire-by-hash', 'notautomatic', 'components', 'sha256']),
  });
  const files = new Map<string, IndexFileEntry>();
  for (const line of (field(stanza, 'SHA256') ?? '').split('\n')) {
    const parts = line.trim().split(/\s+/);
    if (parts.length !== 3 || !/^[0-9a-f]{64}$/.test(parts[0]!)) continue;
    files.set(parts[2]!, { sha256: parts[0]!, size: Number(parts[1]) });
  }
  return {
    suite: field(stanza, 'Suite'),
    codename: field(stanza, 'Codename'),
    validUntil: parseDate(field(stanza, 'Valid-Until')),
    acquireByHash: field(stanza, 'Acquire-By-Hash')?.toLowerCase() === 'yes',
    notAutomatic: field(stanza, 'NotAutomatic')?.toLowerCase() === 'yes',
    components: (field(stanza, 'Components') ?? '').split(/\s+/).filter((c) => c !== ''),
    files,
  };
}

/**
 * The signed file must describe the suite we asked for: otherwise a mirror could serve another
 * suite's validly signed index (e.g. bookworm's in place of bookworm-security, hiding fixes).
 */
export function checkSuite(release: ReleaseInfo, suite: string, what: string): void {
  if (release.codename !== suite && release.suite !== suite) {
    throw new LkError(
      'debian',
      `${what}: the signed index is for ${release.codename ?? release.suite ?? 'an unnamed suite'}, not ${suite}`,
      'the mirror serves the wrong suite (misconfigured or malicious); check the suite name in the sources, or use another mirror',
    );
  }
}

/** Refuse a Release past its Valid-Until: an attacker could otherwise replay an old, vulnerable index. */
export function checkValidUntil(release: ReleaseInfo, what: string, now = new Date()): void {
  if (release.validUntil && release.validUntil.getTime() < now.getTime()) {
    throw new LkError(
      'debian',
      `${what}: the signed index expired on ${release.validUntil.toISOString()}`,
      'the mirror serves stale metadata (or the system clock is wrong); use an up-to-date mirror',
    );
  }
}
