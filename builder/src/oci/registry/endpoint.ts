/**
 * Where a registry lives and how to talk to it. Pure: the caller passes the environment.
 * Docker Hub's API host differs from its name; local registries speak plain HTTP.
 */
export interface RegistryEndpoint {
  /** The registry as it appears in references: "docker.io", "127.0.0.1:5000". */
  registry: string;
  /** Base URL of the distribution API, without the trailing /v2/. */
  baseUrl: string;
  plainHttp: boolean;
}

const hubApiHost = 'registry-1.docker.io';

/**
 * Plain HTTP for loopback registries (unless TLS settings exist for them: then they speak TLS)
 * and for those listed in LKBUILD_INSECURE_REGISTRIES; HTTPS for everything else.
 */
export function registryEndpoint(registry: string, env: NodeJS.ProcessEnv = process.env, hasTlsSettings = false): RegistryEndpoint {
  const host = registry === 'docker.io' ? hubApiHost : registry;
  const plainHttp = insecureRegistries(env).includes(registry) || (isLoopback(registry) && !hasTlsSettings);
  return { registry, baseUrl: `${plainHttp ? 'http' : 'https'}://${host}`, plainHttp };
}

/** LKBUILD_INSECURE_REGISTRIES=host:port,... : registries reached over plain HTTP. */
export function insecureRegistries(env: NodeJS.ProcessEnv): string[] {
  return (env.LKBUILD_INSECURE_REGISTRIES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function isLoopback(registry: string): boolean {
  const host = registry.startsWith('[') ? registry.slice(0, registry.indexOf(']') + 1) : registry.split(':')[0];
  return host === 'localhost' || host === '[::1]' || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * Whether the Basic credentials of `endpoint`'s registry may be sent to the token realm `realm`:
 * only over the scheme the registry itself is reached with, and only to a host under the same
 * DNS authority as the registry's name: that name itself, a subdomain of it (Docker Hub's token
 * service is a subdomain of its name) or a parent domain of at least two labels (GitLab's
 * registry is a subdomain of its token service's host). Anything else is a challenge pointing
 * elsewhere: a hostile or compromised registry could otherwise collect the user's password.
 * Pure.
 */
export function realmMayReceiveCredentials(realm: URL, endpoint: RegistryEndpoint): boolean {
  const api = new URL(endpoint.baseUrl);
  if (realm.protocol !== api.protocol) return false;
  const host = realm.hostname.toLowerCase();
  const named = new URL(`${api.protocol}//${endpoint.registry}`).hostname.toLowerCase();
  if (host === api.hostname.toLowerCase() || host === named) return true;
  if (/^[\d.]+$|^\[/.test(named)) return false; // an IP address has no subdomains or parents
  const parentOk = named.endsWith(`.${host}`) && host.includes('.');
  return host.endsWith(`.${named}`) || parentOk;
}
