// What the metadata step writes, decided from what a provider returned. Pure: metadata.ts does
// the I/O. User data is LinuxKit's JSON (one file or directory under /run/config per key), the
// common cloud-config keys (hostname, ssh_authorized_keys, write_files), or anything else, which
// is kept only raw as /run/config/userdata. Malformed user data is an error for the whole plan, so
// nothing is half-applied.

import { parseYamlSubset, YamlError, type YamlValue } from './yaml-subset.js';

/** What one provider found. */
export interface ProviderData {
  provider: string;
  hostname?: string;
  /** OpenSSH public key lines. */
  sshKeys: string[];
  /** Raw user data, if the platform has any. */
  userdata?: string;
}

export interface PlannedFile {
  /** Relative to /run/config for config files; absolute for write_files. */
  path: string;
  content: string;
  mode: number;
  /** content holds raw bytes as Latin-1 code units (base64 that was not UTF-8 text). */
  binary?: boolean;
}

export interface ProvisionPlan {
  /** Files under /run/config (written to a fresh directory, then swapped in whole). */
  config: PlannedFile[];
  /** Directories under /run/config, parents first (LinuxKit JSON entries without content). */
  configDirs: string[];
  /** cloud-config write_files, absolute paths on the node. */
  writeFiles: PlannedFile[];
  hostname?: string;
  format: 'none' | 'linuxkit-json' | 'cloud-config' | 'raw';
  /** cloud-config keys this step does not act on (reported, not an error). */
  ignoredKeys: string[];
}

export type PlanResult = { ok: true; plan: ProvisionPlan } | { ok: false; error: string };

/** Largest user data accepted (GCP allows 256 KiB, AWS 16 KiB). */
export const MAX_USERDATA = 1024 * 1024;
const MAX_JSON_DEPTH = 8;
/** Where write_files may write: the places the metadata container binds from the node. */
export const WRITABLE_ROOTS = ['/etc/', '/run/', '/var/'];

class PlanError extends Error {}

/** The plan for a provider's data, or the reason the user data is refused. */
export function planProvisioning(data: ProviderData): PlanResult {
  try {
    return { ok: true, plan: plan(data) };
  } catch (e) {
    if (e instanceof PlanError || e instanceof YamlError) return { ok: false, error: e.message };
    throw e;
  }
}

function plan(data: ProviderData): ProvisionPlan {
  const files = new Map<string, PlannedFile>();
  const put = (path: string, content: string, mode = 0o644) => files.set(path, { path, content, mode });
  const result: ProvisionPlan = { config: [], configDirs: [], writeFiles: [], format: 'none', ignoredKeys: [] };
  let hostname = data.hostname?.trim() || undefined;
  const keys = data.sshKeys.map((k) => k.trim()).filter(Boolean);
  put('provider', `${data.provider}\n`);

  const userdata = data.userdata ?? '';
  if (userdata.length > MAX_USERDATA) throw new PlanError(`user data is ${userdata.length} bytes; at most ${MAX_USERDATA} are accepted`);
  if (data.userdata !== undefined) put('userdata', userdata);
  const kind = userdataKind(userdata);
  result.format = kind;
  const fromUser = new Map<string, PlannedFile>();
  if (kind === 'linuxkit-json') {
    linuxkitEntries(userdata, fromUser, result.configDirs);
  } else if (kind === 'cloud-config') {
    const cc = cloudConfig(userdata);
    if (cc.hostname) hostname = cc.hostname;
    keys.push(...cc.keys);
    result.writeFiles = cc.writeFiles;
    result.ignoredKeys = cc.ignored;
  }
  if (hostname) put('hostname', `${hostname}\n`);
  if (keys.length) put('ssh/authorized_keys', `${[...new Set(keys)].join('\n')}\n`, 0o600);
  // LinuxKit JSON user data is the user's word: its entries replace what the platform said.
  for (const [path, f] of fromUser) files.set(path, f);
  const finalHost = files.get('hostname')?.content.split('\n')[0]?.trim();
  if (finalHost) {
    checkHostname(finalHost);
    result.hostname = finalHost;
  }
  if (files.has('ssh/authorized_keys') && !result.configDirs.includes('ssh')) result.configDirs.unshift('ssh');
  result.config = [...files.values()].sort((a, b) => a.path.localeCompare(b.path));
  return result;
}

export function userdataKind(text: string): ProvisionPlan['format'] {
  const trimmed = text.trimStart();
  if (trimmed === '') return 'none';
  if (/^#cloud-config[ \t]*(\r?\n|$)/.test(trimmed)) return 'cloud-config';
  if (trimmed.startsWith('{')) return 'linuxkit-json';
  return 'raw';
}

function checkHostname(name: string): void {
  if (name.length > 64 || !/^[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,62}[A-Za-z0-9])?)*$/.test(name)) {
    throw new PlanError(`hostname "${name.slice(0, 80)}" is not a valid host name (letters, digits, "-" and ".", at most 64 characters)`);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkName(name: string, where: string): void {
  if (name === '' || name === '.' || name === '..' || name.includes('/') || name.includes('\0')) {
    throw new PlanError(`${where}: "${name}" is not a usable file name (no "/", ".", ".." or empty names)`);
  }
}

function parseMode(text: unknown, where: string, fallback: number): number {
  if (text === undefined || text === null || text === '') return fallback;
  if (typeof text !== 'string' || !/^0?[0-7]{3,4}$/.test(text))
    throw new PlanError(`${where}: permissions "${String(text)}" are not an octal mode such as "0644"`);
  return parseInt(text, 8);
}

/** LinuxKit's JSON: {"name": {"content": "...", "perm": "0600"} | {"entries": {...}}}. */
function linuxkitEntries(text: string, out: Map<string, PlannedFile>, dirs: string[]): void {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new PlanError(`user data starts with "{" but is not valid JSON: ${(e as Error).message}`);
  }
  if (!isObject(doc)) throw new PlanError('LinuxKit user data must be a JSON object');
  const walk = (entries: Record<string, unknown>, prefix: string, depth: number) => {
    if (depth > MAX_JSON_DEPTH) throw new PlanError(`user data entries nest deeper than ${MAX_JSON_DEPTH} levels`);
    for (const [name, entry] of Object.entries(entries)) {
      const path = prefix ? `${prefix}/${name}` : name;
      checkName(name, `user data entry "${path}"`);
      if (!isObject(entry)) throw new PlanError(`user data entry "${path}" must be an object with "content" or "entries"`);
      const { content, entries: children, perm } = entry;
      if (content !== undefined && children !== undefined)
        throw new PlanError(`user data entry "${path}" has both "content" and "entries"`);
      if (content !== undefined) {
        if (typeof content !== 'string') throw new PlanError(`user data entry "${path}": "content" must be a string`);
        out.set(path, { path, content, mode: parseMode(perm, `user data entry "${path}"`, 0o644) });
      } else {
        if (children !== undefined && !isObject(children)) throw new PlanError(`user data entry "${path}": "entries" must be an object`);
        dirs.push(path);
        walk((children as Record<string, unknown> | undefined) ?? {}, path, depth + 1);
      }
    }
  };
  walk(doc, '', 0);
}

interface CloudConfig {
  hostname?: string;
  keys: string[];
  writeFiles: PlannedFile[];
  ignored: string[];
}

function cloudConfig(text: string): CloudConfig {
  let doc: YamlValue;
  try {
    doc = parseYamlSubset(text);
  } catch (e) {
    if (e instanceof YamlError)
      throw new PlanError(`cloud-config is not valid YAML (or uses YAML this parser does not accept): ${e.message}`);
    throw e;
  }
  if (doc === null) return { keys: [], writeFiles: [], ignored: [] };
  if (!isObject(doc)) throw new PlanError('cloud-config must be a mapping of keys');
  const cc: CloudConfig = { keys: [], writeFiles: [], ignored: [] };
  for (const [key, value] of Object.entries(doc)) {
    if (key === 'hostname') {
      if (typeof value !== 'string') throw new PlanError('cloud-config hostname must be a string');
      cc.hostname = value.trim();
    } else if (key === 'ssh_authorized_keys') {
      if (!Array.isArray(value) || !value.every((k) => typeof k === 'string'))
        throw new PlanError('cloud-config ssh_authorized_keys must be a list of keys');
      for (const k of value as string[]) {
        if (k.includes('\n')) throw new PlanError('cloud-config ssh_authorized_keys: a key must be on one line');
        cc.keys.push(k.trim());
      }
    } else if (key === 'write_files') {
      if (!Array.isArray(value)) throw new PlanError('cloud-config write_files must be a list');
      cc.writeFiles = value.map((f, i) => writeFile(f, i));
    } else {
      cc.ignored.push(key);
    }
  }
  const paths = cc.writeFiles.map((f) => f.path);
  const dup = paths.find((p, i) => paths.indexOf(p) !== i);
  if (dup) throw new PlanError(`cloud-config write_files names ${dup} twice`);
  return cc;
}

function writeFile(entry: YamlValue, index: number): PlannedFile {
  const where = `cloud-config write_files[${index}]`;
  if (!isObject(entry)) throw new PlanError(`${where} must be a mapping with path and content`);
  const known = ['path', 'content', 'permissions', 'encoding', 'owner'];
  const unknown = Object.keys(entry).filter((k) => !known.includes(k));
  if (unknown.length) throw new PlanError(`${where}: ${unknown.join(', ')} not supported (${known.join(', ')} are)`);
  const { path, content, encoding, owner } = entry;
  if (typeof path !== 'string' || !path.startsWith('/')) throw new PlanError(`${where}: path must be an absolute path`);
  const segments = path.split('/').slice(1);
  if (segments.some((s) => s === '' || s === '.' || s === '..') || path.includes('\0'))
    throw new PlanError(`${where}: path ${path} has empty, "." or ".." parts`);
  if (!WRITABLE_ROOTS.some((r) => path.startsWith(r)))
    throw new PlanError(`${where}: ${path} is outside ${WRITABLE_ROOTS.join(', ')} (the root filesystem is rebuilt on every boot)`);
  if (owner !== undefined && owner !== null && owner !== 'root' && owner !== 'root:root')
    throw new PlanError(`${where}: owner ${String(owner)} is not supported (files belong to root)`);
  if (content !== undefined && content !== null && typeof content !== 'string') throw new PlanError(`${where}: content must be a string`);
  const mode = parseMode(entry.permissions, where, 0o644);
  if (encoding === 'b64' || encoding === 'base64') return { path, mode, ...decodeBase64(content ?? '', where) };
  if (encoding !== undefined && encoding !== null && encoding !== 'text/plain')
    throw new PlanError(`${where}: encoding ${String(encoding)} is not supported (b64, base64 or text/plain)`);
  return { path, content: content ?? '', mode };
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** Base64 to text if the bytes are UTF-8, else to the bytes as Latin-1 code units (QuickJS has no atob). */
export function decodeBase64(text: string, where: string): { content: string; binary?: boolean } {
  const clean = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.replace(/=+$/, '').length % 4 === 1)
    throw new PlanError(`${where}: content is not valid base64`);
  const body = clean.replace(/=+$/, '');
  let bits = 0;
  let value = 0;
  let out = '';
  for (const ch of body) {
    value = (value << 6) | B64.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += String.fromCharCode((value >> bits) & 0xff);
    }
  }
  const decoded = utf8Decode(out);
  return decoded === undefined ? { content: out, binary: true } : { content: decoded };
}

/** Bytes held as Latin-1 code units to text, if they are UTF-8 (QuickJS has no TextDecoder). */
export function utf8Decode(bytes: string): string | undefined {
  try {
    return decodeURIComponent(bytes.replace(/[\x00-\xff]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0')}`));
  } catch {
    return undefined;
  }
}

/** NoCloud meta-data (YAML or JSON): the host name and any public keys it carries. */
export function parseMetaData(text: string): { hostname?: string; sshKeys: string[] } {
  let doc: unknown;
  try {
    doc = text.trimStart().startsWith('{') ? JSON.parse(text) : parseYamlSubset(text);
  } catch (e) {
    throw new PlanError(`meta-data is not valid YAML or JSON: ${(e as Error).message}`);
  }
  if (doc === null) return { sshKeys: [] };
  if (!isObject(doc)) throw new PlanError('meta-data must be a mapping');
  const host = doc['local-hostname'] ?? doc.hostname;
  const keys = doc['public-keys'];
  const sshKeys =
    typeof keys === 'string'
      ? [keys]
      : Array.isArray(keys)
        ? keys.filter((k): k is string => typeof k === 'string')
        : isObject(keys)
          ? Object.values(keys).filter((k): k is string => typeof k === 'string')
          : [];
  return { hostname: typeof host === 'string' ? host : undefined, sshKeys };
}

export { PlanError };
