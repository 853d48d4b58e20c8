// runtime.json of a bundle -> what the init does around the container. Pure.

export type RestartPolicy = 'always' | 'on-failure' | 'never';

export interface RuntimeSpec {
  restart: RestartPolicy;
  depends: string[];
  /** Directories to create (on the host) before the container starts. */
  mkdir: string[];
  /** cgroup v2 paths (relative to /sys/fs/cgroup) to create before the container starts. */
  cgroups: string[];
  /** OCI mount objects the init mounts on the host before the container starts. */
  mounts: object[];
}

const POLICIES: readonly string[] = ['always', 'on-failure', 'never'];

function stringList(value: unknown, field: string, problems: string[]): string[] {
  if (value === undefined || value === null) return [];
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) return value as string[];
  problems.push(`${field} must be a list of strings`);
  return [];
}

/**
 * Parses runtime.json text. A missing file (null) means defaults; invalid
 * fields fall back to defaults and are reported in `problems`, because a
 * service with a broken runtime.json should still start.
 */
export function parseRuntime(text: string | null, defaultRestart: RestartPolicy): { spec: RuntimeSpec; problems: string[] } {
  const problems: string[] = [];
  let raw: Record<string, unknown> = {};
  if (text !== null && text.trim() !== '') {
    try {
      const parsed: unknown = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) raw = parsed as Record<string, unknown>;
      else problems.push('runtime.json must hold an object');
    } catch (e) {
      problems.push(`runtime.json is not valid JSON: ${(e as Error).message}`);
    }
  }
  let restart = defaultRestart;
  if (raw.restart !== undefined) {
    if (typeof raw.restart === 'string' && POLICIES.includes(raw.restart)) restart = raw.restart as RestartPolicy;
    else problems.push(`restart must be one of ${POLICIES.join(', ')}`);
  }
  const cgroups = stringList(raw.cgroups, 'cgroups', problems);
  let mounts: object[] = [];
  if (raw.mounts !== undefined && raw.mounts !== null) {
    if (Array.isArray(raw.mounts) && raw.mounts.every((m) => m && typeof m === 'object')) mounts = raw.mounts as object[];
    else problems.push('mounts must be a list of mount objects');
  }
  return {
    spec: {
      restart,
      depends: stringList(raw.depends, 'depends', problems),
      mkdir: stringList(raw.mkdir, 'mkdir', problems),
      cgroups,
      mounts,
    },
    problems,
  };
}

/** "000-hello" -> "hello": the ordering prefix the builder adds to onboot/onshutdown bundles. */
export function bundleName(dirName: string): string {
  const m = /^\d+-(.+)$/.exec(dirName);
  return m ? m[1]! : dirName;
}
