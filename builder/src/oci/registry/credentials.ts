import { readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { LkError } from '../../errors.js';
import { runCaptured } from '../../util/run.js';

export interface Credentials {
  username: string;
  password: string;
}

/** Looks up credentials for a registry host; undefined means anonymous. */
export type CredentialSource = (registry: string) => Promise<Credentials | undefined>;

interface DockerConfig {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
}

/** The keys under which `docker login` may have stored a registry, most specific first. */
export function configKeysFor(registry: string): string[] {
  if (registry === 'docker.io') {
    return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io', 'https://registry-1.docker.io'];
  }
  return [registry, `https://${registry}`, `http://${registry}`, `https://${registry}/v1/`, `https://${registry}/v2/`];
}

/** Decodes one `auths` entry (base64 "user:pass" or separate fields). Pure. */
export function decodeAuthEntry(entry: {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}): Credentials | undefined {
  if (entry.auth) {
    const text = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = text.indexOf(':');
    if (colon > 0) return { username: text.slice(0, colon), password: text.slice(colon + 1) };
  }
  if (entry.username && entry.password) return { username: entry.username, password: entry.password };
  // An identity token is an OAuth refresh token; registries accept it as a password for "<token>".
  if (entry.identitytoken) return { username: '<token>', password: entry.identitytoken };
  return undefined;
}

/**
 * Credentials from Docker's client config ($DOCKER_CONFIG/config.json, else ~/.docker/config.json):
 * per-registry credential helpers first, then the default store, then inline `auths`.
 */
export function dockerConfigCredentials(env: NodeJS.ProcessEnv = process.env): CredentialSource {
  const path = join(env.DOCKER_CONFIG || join(homedir(), '.docker'), 'config.json');
  let loaded: Promise<DockerConfig> | undefined;
  const config = () =>
    (loaded ??= readFile(path, 'utf8').then(
      (text) => {
        try {
          return JSON.parse(text) as DockerConfig;
        } catch (e) {
          throw new LkError('registry', `cannot parse ${path}: ${(e as Error).message}`, 'fix or remove the Docker client config file');
        }
      },
      (): DockerConfig => ({}),
    ));
  return async (registry) => {
    const cfg = await config();
    const keys = configKeysFor(registry);
    const helper = keys.map((k) => cfg.credHelpers?.[k]).find((h) => h) ?? (cfg.credsStore || undefined);
    if (helper) {
      const fromHelper = await helperCredentials(helper, keys[0], env);
      if (fromHelper) return fromHelper;
    }
    for (const k of keys) {
      const entry = cfg.auths?.[k];
      const creds = entry && decodeAuthEntry(entry);
      if (creds) return creds;
    }
    return undefined;
  };
}

/** Runs `docker-credential-<name> get` with the server URL on stdin, per Docker's helper protocol. */
async function helperCredentials(name: string, serverUrl: string, env: NodeJS.ProcessEnv): Promise<Credentials | undefined> {
  const program = `docker-credential-${name}`;
  const result = await runHelper(program, serverUrl, env);
  if (result.notInstalled) {
    throw new LkError(
      'registry',
      `credential helper ${program} is not installed`,
      `install it or remove "${name}" from your Docker config`,
    );
  }
  if (result.code !== 0) {
    if (/credentials not found/i.test(result.stdout + result.stderr)) return undefined;
    throw new LkError(
      'registry',
      `credential helper ${program} failed: ${(result.stdout + result.stderr).trim() || `exit ${result.code}`}`,
      `check it with: echo SERVER | ${program} get`,
    );
  }
  let parsed: { Username?: string; Secret?: string };
  try {
    parsed = JSON.parse(result.stdout) as typeof parsed;
  } catch {
    throw new LkError('registry', `credential helper ${program} printed something other than JSON`);
  }
  if (!parsed.Secret) return undefined;
  return { username: parsed.Username ?? '', password: parsed.Secret };
}

async function runHelper(
  program: string,
  input: string,
  env: NodeJS.ProcessEnv,
): Promise<{ code?: number; stdout: string; stderr: string; notInstalled: boolean }> {
  const r = await runCaptured(program, ['get'], { input, env, extendEnv: false, timeoutMs: 30_000 });
  return { code: r.exitCode, stdout: r.stdout.toString('utf8'), stderr: r.failure ?? r.stderr, notInstalled: r.notInstalled };
}
