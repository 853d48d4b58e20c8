import { isLkError } from '../errors.js';
import { parseReference } from '../oci/reference.js';
import { capabilityProblems } from './capabilities.js';
import type { Diagnostic } from './diagnostics.js';
import { describePath, describeValue } from './describe.js';
import { resolveId } from './ids.js';
import { parseMode } from './modes.js';
import { completeMount, parseBind, parseTmpfs } from './mounts.js';
import { parseRlimit } from './rlimits.js';
import type { Path, YamlSource } from './source.js';
import { imageSections } from './types.js';

/** Reports one problem at a path; 'key' points at the key instead of the value. */
export type Report = (path: Path, message: string, hint?: string, which?: 'value' | 'key') => void;

export function reporter(source: YamlSource, out: Diagnostic[]): Report {
  return (path, message, hint, which = 'value') => out.push({ ...source.position(path, which), message, ...(hint ? { hint } : {}) });
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
/** Calls fn for each string of a list, with its index in the list (other entries the schema reports). */
function eachString(v: unknown, fn: (s: string, i: number) => void): void {
  if (Array.isArray(v)) v.forEach((x, i) => typeof x === 'string' && fn(x, i));
}

/** Names become directory names on the image and containerd-style ids. */
export const namePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/**
 * Checks a parsed build file beyond its schema: values whose syntax the schema cannot express
 * (capabilities, rlimits, binds, modes, namespaces) and fields that conflict. Checks that need
 * every file (names, depends, uid names) or the file system (sources, @pkg) are elsewhere.
 */
export function checkBuildFile(source: YamlSource): Diagnostic[] {
  const out: Diagnostic[] = [];
  const report = reporter(source, out);
  const root = source.value;
  if (!isObj(root)) return out;
  if (isObj(root.kernel)) {
    if (typeof root.kernel.image === 'string') checkImageRef(root.kernel.image, ['kernel', 'image'], report);
  }
  if (Array.isArray(root.init)) root.init.forEach((ref, i) => typeof ref === 'string' && checkImageRef(ref, ['init', i], report));
  for (const section of imageSections) {
    const list = root[section];
    if (!Array.isArray(list)) continue;
    list.forEach((image, i) => {
      if (!isObj(image)) return;
      const path = [section, i];
      if (typeof image.name === 'string') checkName(image.name, [...path, 'name'], report);
      if (typeof image.image === 'string') checkImageRef(image.image, [...path, 'image'], report);
      checkImageFields(image, path, report, source);
      if (section !== 'services') {
        for (const key of ['restart', 'depends']) {
          if (key in image)
            report(
              [...path, key],
              `${key} is only valid for services, not in ${section}`,
              `move the entry to services or remove ${key}`,
              'key',
            );
        }
      }
    });
  }
  if (Array.isArray(root.volumes)) {
    root.volumes.forEach((v, i) => {
      if (!isObj(v)) return;
      if (typeof v.name === 'string') checkName(v.name, ['volumes', i, 'name'], report);
      if (typeof v.image === 'string' && v.image !== '') checkImageRef(v.image, ['volumes', i, 'image'], report);
    });
  }
  if (Array.isArray(root.files)) root.files.forEach((f, i) => isObj(f) && checkFile(f, ['files', i], source, report));
  return out;
}

function checkName(name: string, path: Path, report: Report): void {
  if (!namePattern.test(name)) {
    report(
      path,
      `name ${describeValue(name)} is not usable as a container name; expected letters, digits, '_', '.' or '-', starting with a letter or digit`,
    );
  }
}

function checkImageRef(ref: string, path: Path, report: Report): void {
  if (ref.trim() === '') report(path, `${describePath(path)}: expected an image reference, got an empty string`);
  else if (/\s/.test(ref))
    report(path, `image reference ${describeValue(ref)} contains whitespace; expected something like "docker.io/library/alpine:3.20"`);
  else if (ref.startsWith('@') && !ref.startsWith('@pkg:')) {
    const rest = ref.includes(':') ? ref.slice(ref.indexOf(':') + 1) : ref.slice(1);
    report(
      path,
      `unknown template ${describeValue(ref)}; expected "@pkg:<directory>" or an image reference`,
      `did you mean "@pkg:${rest}"?`,
    );
  } else if (ref === '@pkg:') report(path, `"@pkg:" needs a directory; expected "@pkg:<directory>"`);
  else if (!ref.startsWith('@')) {
    try {
      parseReference(ref);
    } catch (e) {
      if (!isLkError(e)) throw e;
      report(path, e.message, e.hint);
    }
  }
}

const namespaceKeywords: Record<string, string[]> = {
  net: ['host', 'root', 'new', 'none'],
  ipc: ['host', 'root', 'new'],
  uts: ['host', 'root', 'new'],
  pid: ['host', 'root', 'new'],
  userns: ['host', 'root', 'new'],
};

/** The settings of one container, from the YAML or from an image label. */
export function checkImageFields(image: Obj, path: Path, report: Report, source?: YamlSource): void {
  const at = (...rest: Path) => [...path, ...rest];
  for (const key of ['capabilities', 'capabilities.add', 'ambient']) {
    if (!Array.isArray(image[key])) continue;
    for (const p of capabilityProblems(image[key] as unknown[])) report(at(key, p.index), p.message, p.hint);
  }
  for (const key of ['binds', 'binds.add']) {
    eachString(image[key], (b, i) => {
      const parsed = parseBind(b);
      if (!parsed.ok) report(at(key, i), parsed.message, parsed.hint);
    });
  }
  eachString(image.tmpfs, (t, i) => {
    const parsed = parseTmpfs(t);
    if (!parsed.ok) report(at('tmpfs', i), parsed.message, parsed.hint);
  });
  if (Array.isArray(image.mounts)) checkMounts(image.mounts, at('mounts'), report);
  for (const [key, words] of Object.entries(namespaceKeywords)) {
    const v = image[key];
    if (typeof v !== 'string' || v === '' || words.includes(v) || v.startsWith('/')) continue;
    report(
      at(key),
      `${key}: ${describeValue(v)} is not a namespace; expected ${words.map((w) => `"${w}"`).join(', ')} or an absolute path to a namespace file`,
    );
  }
  eachString(image.rlimits, (r, i) => {
    const parsed = parseRlimit(r);
    if (!parsed.ok) report(at('rlimits', i), parsed.message, parsed.hint);
  });
  if (typeof image.cwd === 'string' && image.cwd !== '' && !image.cwd.startsWith('/'))
    report(at('cwd'), `cwd ${describeValue(image.cwd)} is not an absolute path`);
  for (const key of ['maskedPaths', 'readonlyPaths']) {
    eachString(image[key], (p, i) => !p.startsWith('/') && report(at(key, i), `${key}: ${describeValue(p)} is not an absolute path`));
  }
  if (Array.isArray(image.env)) {
    image.env.forEach((e, i) => {
      if (typeof e === 'string' && (e === '' || e.startsWith('=')))
        report(at('env', i), `env entry ${describeValue(e)} has no variable name; expected "NAME=value"`);
    });
  }
  if (typeof image.hostname === 'string' && image.hostname !== '' && !/^[A-Za-z0-9]([A-Za-z0-9.-]{0,62})$/.test(image.hostname)) {
    report(at('hostname'), `hostname ${describeValue(image.hostname)} is not a valid host name; expected letters, digits, '.' and '-'`);
  }
  // Numeric ids here, in each file; names need every file, so cross-check resolves those.
  const checkNumericId = (value: unknown, path: Path, what: string) => {
    if (typeof value !== 'number') return;
    const id = resolveId(value, new Map(), what);
    if (!id.ok) report(path, id.message);
  };
  for (const key of ['uid', 'gid']) checkNumericId(image[key], at(key), key);
  if (Array.isArray(image.additionalGids))
    image.additionalGids.forEach((g, i) => checkNumericId(g, at('additionalGids', i), 'additionalGids'));
  if (Array.isArray(image.devices)) checkDevices(image.devices, at('devices'), report, source);
  if (isObj(image.sysctl)) {
    for (const k of Object.keys(image.sysctl)) {
      if (!/^[a-z0-9_]+([./][A-Za-z0-9_-]+)+$/.test(k))
        report(
          at('sysctl', k),
          `sysctl key ${describeValue(k)} does not look like a sysctl; expected something like "net.ipv4.ip_forward"`,
          undefined,
          'key',
        );
    }
  }
  if (isObj(image.runtime)) {
    const rt = image.runtime;
    if (Array.isArray(rt.mounts)) checkMounts(rt.mounts, at('runtime', 'mounts'), report, 'runtime');
    eachString(
      rt.mkdir,
      (d, i) => !d.startsWith('/') && report(at('runtime', 'mkdir', i), `runtime.mkdir: ${describeValue(d)} is not an absolute path`),
    );
    if (isObj(rt.bindNS)) {
      for (const [k, v] of Object.entries(rt.bindNS)) {
        if (typeof v === 'string' && !v.startsWith('/'))
          report(at('runtime', 'bindNS', k), `runtime.bindNS.${k}: ${describeValue(v)} is not an absolute path`);
      }
    }
    if (Array.isArray(rt.interfaces)) {
      rt.interfaces.forEach((iface, i) => {
        if (isObj(iface) && typeof iface.name !== 'string')
          report(at('runtime', 'interfaces', i), `runtime.interfaces[${i}]: missing required key "name"`);
      });
    }
  }
}

function checkMounts(mounts: unknown[], path: Path, report: Report, where: 'container' | 'runtime' = 'container'): void {
  mounts.forEach((m, i) => {
    if (!isObj(m)) return;
    const parsed = completeMount(m as Parameters<typeof completeMount>[0], where);
    if (!parsed.ok) report([...path, i], parsed.message, parsed.hint);
  });
}

function checkDevices(devices: unknown[], path: Path, report: Report, source?: YamlSource): void {
  devices.forEach((d, i) => {
    if (!isObj(d) || typeof d.path !== 'string') return;
    if (d.path !== 'all' && !d.path.startsWith('/'))
      report([...path, i, 'path'], `device path ${describeValue(d.path)} is not an absolute path or "all"`);
    if (
      d.path !== 'all' &&
      d.type !== undefined &&
      ['c', 'b', 'u'].includes(String(d.type)) &&
      (d.major === undefined || d.minor === undefined)
    ) {
      report([...path, i], `device ${d.path}: a ${d.type === 'b' ? 'block' : 'character'} device needs major and minor numbers`);
    }
    if (d.mode !== undefined) {
      const text = typeof d.mode === 'number' ? source?.sourceText([...path, i, 'mode']) : undefined;
      const parsed = parseMode(d.mode, text);
      if (!parsed.ok) report([...path, i, 'mode'], parsed.message, parsed.hint);
    }
  });
}

const fileContentKeys = ['contents', 'source', 'metadata'] as const;

function checkFile(f: Obj, path: Path, source: YamlSource, report: Report): void {
  const at = (...rest: Path) => [...path, ...rest];
  if (typeof f.path === 'string') {
    if (f.path.replace(/^\/+/, '') === '')
      report(at('path'), `files: path ${describeValue(f.path)} names no file; expected a path such as "etc/hostname"`);
    else if (f.path.split('/').includes('..'))
      report(at('path'), `files: path ${describeValue(f.path)} contains ".."; expected a path inside the image`);
  }
  const present = fileContentKeys.filter((k) => f[k] !== undefined);
  const what = typeof f.path === 'string' ? ` ${f.path}` : '';
  if (f.directory === true) {
    for (const k of [...present, ...(f.symlink !== undefined ? ['symlink'] : [])]) {
      report(at(k), `files${what}: "${k}" conflicts with "directory: true"; a directory has no ${k}`, undefined, 'key');
    }
  } else if (f.symlink !== undefined) {
    for (const k of present)
      report(
        at(k),
        `files${what}: "${k}" conflicts with "symlink"; expected only one of symlink, contents, source, metadata`,
        undefined,
        'key',
      );
  } else if (present.length === 0) {
    report(path, `files${what}: expected exactly one of contents, source or metadata (or directory: true, or symlink)`);
  } else {
    for (const k of present.slice(1))
      report(
        at(k),
        `files${what}: "${k}" conflicts with "${present[0]}"; expected exactly one of contents, source or metadata`,
        undefined,
        'key',
      );
  }
  if (typeof f.metadata === 'string' && f.metadata !== 'yaml' && f.metadata !== 'json') {
    report(
      at('metadata'),
      `files${what}: metadata ${describeValue(f.metadata)} is not a format; expected "yaml" or "json"`,
      f.metadata.toLowerCase().startsWith('y')
        ? 'did you mean "yaml"?'
        : f.metadata.toLowerCase().startsWith('j')
          ? 'did you mean "json"?'
          : undefined,
    );
  }
  if (f.mode !== undefined && (typeof f.mode === 'string' || typeof f.mode === 'number')) {
    const parsed = parseMode(f.mode, typeof f.mode === 'number' ? source.sourceText(at('mode')) : undefined);
    if (!parsed.ok) report(at('mode'), `files${what}: ${parsed.message}`);
  }
  for (const key of ['uid', 'gid']) {
    const id = typeof f[key] === 'number' ? resolveId(f[key] as number, new Map(), key) : undefined;
    if (id && !id.ok) report(at(key), `files${what}: ${id.message}`);
  }
}
