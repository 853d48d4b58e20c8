import { LkError } from '../errors.js';

export interface ImageReference {
  /** Registry host, with port if any: "docker.io", "localhost:5000". */
  registry: string;
  /** Repository path within the registry: "library/alpine". */
  repository: string;
  tag?: string;
  digest?: string;
}

const defaultRegistry = 'docker.io';
const componentPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[\w][\w.-]{0,127}$/;
const digestPattern = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

/**
 * Parses an image reference the way Docker does: the first component is a registry only if it
 * has a '.' or ':' or is "localhost"; Docker Hub names without a namespace live in library/.
 */
export function parseReference(input: string): ImageReference {
  const bad = (why: string) =>
    new LkError('reference', `invalid image reference "${input}": ${why}`, 'expected [registry[:port]/]name[:tag][@sha256:digest]');
  let rest = input.trim();
  if (rest === '') throw bad('it is empty');
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!digestPattern.test(digest)) throw bad(`"${digest}" is not a digest`);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (!tagPattern.test(tag)) throw bad(`"${tag}" is not a valid tag`);
  }
  const parts = rest.split('/');
  let registry = defaultRegistry;
  if (parts.length > 1 && (parts[0].includes('.') || parts[0].includes(':') || parts[0] === 'localhost')) {
    registry = parts.shift()!;
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = defaultRegistry;
  if (registry === defaultRegistry && parts.length === 1) parts.unshift('library');
  for (const p of parts)
    if (!componentPattern.test(p)) throw bad(`"${p}" is not a valid name component (lowercase letters, digits and separators)`);
  if (!tag && !digest) tag = 'latest';
  return { registry, repository: parts.join('/'), tag, digest };
}

/** The canonical string form, used as the ref name in the local cache. */
export function formatReference(ref: ImageReference): string {
  return `${ref.registry}/${ref.repository}${ref.tag ? ':' + ref.tag : ''}${ref.digest ? '@' + ref.digest : ''}`;
}

export function normalizeReference(input: string): string {
  return formatReference(parseReference(input));
}
