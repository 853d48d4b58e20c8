// The metadata step (the `metadata` binary, its own entry point): asks each provider in turn,
// then writes LinuxKit's /run/config layout and applies the host name. The decisions are pure
// (userdata.ts, metadata-sources.ts); this file does the I/O.

import * as std from 'std';
import * as os from 'os';
import * as lk from 'lk';
import { parseCmdline } from './cmdline.js';
import {
  gcpSshKeys,
  httpRequest,
  parseHttpResponse,
  providerOrder,
  volumeLabel,
  type HttpResponse,
  type ProviderSpec,
} from './metadata-sources.js';
import { parseMetaData, planProvisioning, utf8Decode, type PlannedFile, type ProviderData, type ProvisionPlan } from './userdata.js';
import { exists, listDir, mkdirp, readBytes, readText } from './sys.js';

export const CONFIG_DIR = '/run/config';
const METADATA_IP = '169.254.169.254';
/** A metadata server answers at once or not at all; a reply may take longer on a busy host. */
const CONNECT_TIMEOUT_MS = 2000;
const HTTP_TIMEOUT_MS = 10_000;
const MAX_RESPONSE = 2 * 1024 * 1024;
const CIDATA_MOUNT = '/tmp/lk-cidata';

function say(line: string): void {
  std.out.puts(`metadata: ${line}\n`);
  std.out.flush();
}

/** Runs the metadata step; returns the exit code. */
export function runMetadata(cmdline: string): number {
  const order = providerOrder(parseCmdline(cmdline).get('lk.metadata'));
  if (!order.ok) {
    say(order.error);
    return 2;
  }
  let data: ProviderData | null = null;
  const misses: string[] = [];
  for (const spec of order.order) {
    let found: ProviderData | string;
    try {
      found = probe(spec);
    } catch (e) {
      found = (e as Error).message;
    }
    if (typeof found !== 'string') {
      data = found;
      break;
    }
    misses.push(`${describe(spec)}: ${found}`);
  }
  if (!data) {
    say(`no provider answered (${misses.join('; ')}); the node boots without provisioning`);
    return 0;
  }
  const planned = planProvisioning(data);
  if (!planned.ok) {
    say(`user data from ${data.provider} is malformed: ${planned.error}; nothing was written`);
    return 1;
  }
  try {
    apply(planned.plan);
  } catch (e) {
    say(`writing the configuration failed: ${(e as Error).message}`);
    return 1;
  }
  const p = planned.plan;
  say(
    `provider ${data.provider}: user data ${p.format}, ${p.config.length} file(s) in ${CONFIG_DIR}, ${p.writeFiles.length} write_files${p.hostname ? `, hostname ${p.hostname}` : ''}`,
  );
  if (p.ignoredKeys.length) say(`cloud-config keys not acted on: ${p.ignoredKeys.join(', ')}`);
  return 0;
}

function describe(spec: ProviderSpec): string {
  return spec.kind === 'file' ? `file:${spec.path}` : spec.kind;
}

/** What the provider found, or why it is not there. */
function probe(spec: ProviderSpec): ProviderData | string {
  switch (spec.kind) {
    case 'nocloud':
      return noCloud();
    case 'aws':
      return aws();
    case 'gcp':
      return gcp();
    case 'file': {
      const text = readText(spec.path!);
      return text === null ? 'no such file' : { provider: `file:${spec.path}`, sshKeys: [], userdata: text };
    }
  }
}

// --- NoCloud: a CD or disk labelled cidata -----------------------------------------------------

function findCidata(): { device: string; fs: string } | null {
  for (const name of listDir('/sys/class/block')) {
    if (/^(loop|ram|zram)/.test(name)) continue;
    const device = `/dev/${name}`;
    const label = volumeLabel(readBytes(device, 0, 512) ?? new Uint8Array(0), readBytes(device, 32768, 2048) ?? new Uint8Array(0));
    if (label && label.label.toLowerCase() === 'cidata') return { device, fs: label.fs };
  }
  return null;
}

function noCloud(): ProviderData | string {
  const found = findCidata();
  if (!found) return 'no volume labelled cidata';
  mkdirp(CIDATA_MOUNT);
  lk.mount(found.device, CIDATA_MOUNT, found.fs, lk.MS_RDONLY | lk.MS_NOSUID | lk.MS_NODEV | lk.MS_NOEXEC, null);
  try {
    const userdata = readText(`${CIDATA_MOUNT}/user-data`) ?? undefined;
    const meta = readText(`${CIDATA_MOUNT}/meta-data`);
    const parsed = meta ? parseMetaData(meta) : { sshKeys: [] };
    return { provider: `nocloud:${found.device}`, ...parsed, userdata };
  } finally {
    lk.umount(CIDATA_MOUNT, 0);
  }
}

// --- HTTP metadata servers ---------------------------------------------------------------------

/** Linux's EAGAIN: a read that SO_RCVTIMEO ended (QuickJS's std.Error does not name it). */
const EAGAIN = 11;

/**
 * The whole reply, read as bytes until the server closes the connection and decoded from UTF-8
 * once, so a character split between two reads stays whole (bytes that are not UTF-8 stay Latin-1).
 */
function readReply(fd: number, what: string): string {
  const buf = new Uint8Array(16384);
  const parts: string[] = [];
  let total = 0;
  for (;;) {
    const n = os.read(fd, buf.buffer, 0, buf.length);
    if (n === 0) break;
    if (n < 0) throw new Error(n === -EAGAIN ? `${what}: no answer within ${HTTP_TIMEOUT_MS} ms` : `${what}: ${std.strerror(-n)}`);
    total += n;
    if (total > MAX_RESPONSE) throw new Error(`${what}: reply larger than ${MAX_RESPONSE} bytes`);
    parts.push(String.fromCharCode.apply(null, Array.from(buf.subarray(0, n))));
  }
  const bytes = parts.join('');
  return utf8Decode(bytes) ?? bytes;
}

function http(method: string, path: string, headers: Record<string, string>): HttpResponse {
  const fd = lk.connectTcp(METADATA_IP, 80, CONNECT_TIMEOUT_MS, HTTP_TIMEOUT_MS);
  try {
    lk.writeString(fd, httpRequest(method, METADATA_IP, path, headers));
    return parseHttpResponse(readReply(fd, `${method} ${path}`));
  } finally {
    os.close(fd);
  }
}

/** Body of a 200 reply; undefined for 404 (not set); anything else is an error. */
function optional(r: HttpResponse, what: string): string | undefined {
  if (r.status === 200) return r.body;
  if (r.status === 404) return undefined;
  throw new Error(`${what}: HTTP ${r.status}`);
}

/** AWS IMDSv2: a session token from PUT /latest/api/token, then GETs that carry it. */
function aws(): ProviderData | string {
  const token = http('PUT', '/latest/api/token', { 'X-aws-ec2-metadata-token-ttl-seconds': '300' });
  if (token.status !== 200 || token.body.trim() === '') return `PUT /latest/api/token: HTTP ${token.status}, no IMDSv2 token`;
  const headers = { 'X-aws-ec2-metadata-token': token.body.trim() };
  const get = (path: string) => optional(http('GET', path, headers), path);
  const key = get('/latest/meta-data/public-keys/0/openssh-key');
  return {
    provider: 'aws',
    hostname: get('/latest/meta-data/local-hostname')?.split('.')[0],
    sshKeys: key ? [key] : [],
    userdata: get('/latest/user-data'),
  };
}

/** GCP: GETs with Metadata-Flavor: Google, answered only by a server that says it is Google's. */
function gcp(): ProviderData | string {
  const headers = { 'Metadata-Flavor': 'Google' };
  const base = '/computeMetadata/v1/instance';
  const host = http('GET', `${base}/hostname`, headers);
  if (host.status !== 200 || host.headers.get('metadata-flavor') !== 'Google')
    return `GET ${base}/hostname: HTTP ${host.status}, not Google's metadata server`;
  const get = (path: string) => optional(http('GET', `${base}${path}`, headers), path);
  return {
    provider: 'gcp',
    hostname: host.body.trim().split('.')[0],
    sshKeys: gcpSshKeys(get('/attributes/ssh-keys') ?? ''),
    userdata: get('/attributes/user-data'),
  };
}

// --- Writing -----------------------------------------------------------------------------------

/** Removes path and, if it is a directory (not a link to one), everything in it. */
function removeTree(path: string): void {
  const [st, err] = os.lstat(path);
  if (err !== 0) return;
  if ((st.mode & os.S_IFMT) === os.S_IFDIR) for (const name of listDir(path)) removeTree(`${path}/${name}`);
  os.remove(path);
}

function writeFileAt(path: string, f: PlannedFile): void {
  const errorObj: { errno?: number } = {};
  const out = std.open(path, 'wb', errorObj);
  if (!out) throw new Error(`open ${path}: ${std.strerror(errorObj.errno ?? 0)}`);
  try {
    if (f.binary) {
      const bytes = Uint8Array.from(f.content, (c) => c.charCodeAt(0));
      out.write(bytes.buffer, 0, bytes.length);
    } else {
      out.puts(f.content);
    }
    out.flush();
  } finally {
    out.close();
  }
  lk.chmod(path, f.mode); // the exact mode, whatever the umask
}

/**
 * Writes the plan: /run/config built aside and swapped in whole; every write_files target first
 * written to a temporary name beside it, then all renamed into place. A failure before the renames
 * removes what was staged, so nothing is left half-written.
 */
function apply(plan: ProvisionPlan): void {
  const staging = `${CONFIG_DIR}.new`;
  const old = `${CONFIG_DIR}.old`;
  const staged: Array<[string, string]> = [];
  removeTree(staging);
  removeTree(old);
  try {
    mkdirp(staging, 0o755);
    for (const dir of plan.configDirs) mkdirp(`${staging}/${dir}`, 0o755);
    for (const f of plan.config) writeFileAt(`${staging}/${f.path}`, f);
    for (const f of plan.writeFiles) {
      const slash = f.path.lastIndexOf('/');
      mkdirp(f.path.slice(0, slash) || '/');
      const tmp = `${f.path.slice(0, slash)}/.${f.path.slice(slash + 1)}.metadata-tmp`;
      staged.push([tmp, f.path]);
      writeFileAt(tmp, f);
    }
  } catch (e) {
    for (const [tmp] of staged) os.remove(tmp);
    removeTree(staging);
    throw e;
  }
  for (const [tmp, path] of staged) {
    const rc = os.rename(tmp, path);
    if (rc < 0) throw new Error(`rename ${tmp} -> ${path}: ${std.strerror(-rc)}`);
  }
  if (exists(CONFIG_DIR) && os.rename(CONFIG_DIR, old) < 0) throw new Error(`cannot move the previous ${CONFIG_DIR} aside`);
  const rc = os.rename(staging, CONFIG_DIR);
  if (rc < 0) throw new Error(`rename ${staging} -> ${CONFIG_DIR}: ${std.strerror(-rc)}`);
  removeTree(old);
  if (plan.hostname) lk.sethostname(plan.hostname);
}
