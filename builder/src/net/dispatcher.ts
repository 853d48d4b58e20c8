/**
 * The one way the builder opens HTTP connections: an undici dispatcher that honours
 * HTTP_PROXY, HTTPS_PROXY and NO_PROXY (lowercase forms first, as curl and apt read them),
 * applies the connect timeout and follows redirects.
 */
import type { Dispatcher } from 'undici';
import { Agent, envHttpProxyAgent, redirectInterceptor } from './undici.js';
import { netDefaults } from './defaults.js';

/** TLS settings for the servers reached (not for the proxy). */
export interface TlsConnect {
  ca?: string[];
  cert?: string;
  key?: string;
}

export interface DispatcherOptions {
  env?: NodeJS.ProcessEnv;
  tls?: TlsConnect;
  /** Connections per origin. */
  connections?: number;
  idleTimeoutMs?: number;
}

export interface ProxySettings {
  httpProxy?: string;
  httpsProxy?: string;
  noProxy?: string;
}

/** The proxy variables of `env`; lowercase wins over uppercase. Pure. */
export function proxySettings(env: NodeJS.ProcessEnv): ProxySettings {
  const pick = (name: string) => env[name.toLowerCase()] || env[name.toUpperCase()] || undefined;
  return { httpProxy: pick('http_proxy'), httpsProxy: pick('https_proxy'), noProxy: pick('no_proxy') };
}

/** Per-request timeouts (a forward proxy's own client does not inherit the dispatcher's). */
export function requestTimeouts(idleTimeoutMs: number = netDefaults.idleTimeoutMs): { headersTimeout: number; bodyTimeout: number } {
  return { headersTimeout: idleTimeoutMs, bodyTimeout: idleTimeoutMs };
}

export async function createDispatcher(opts: DispatcherOptions = {}): Promise<Dispatcher> {
  const timeout = opts.idleTimeoutMs ?? netDefaults.idleTimeoutMs;
  const common = {
    connectTimeout: timeout,
    headersTimeout: timeout,
    bodyTimeout: timeout,
    keepAliveTimeout: 10_000,
    ...(opts.connections ? { connections: opts.connections } : {}),
  };
  const proxy = proxySettings(opts.env ?? process.env);
  const base =
    proxy.httpProxy || proxy.httpsProxy
      ? new (await envHttpProxyAgent())({
          ...common,
          connect: opts.tls,
          requestTls: opts.tls,
          // Explicit values, so undici never reads process.env behind the caller's back. Without
          // HTTPS_PROXY, https:// goes through HTTP_PROXY too (undici's own rule, kept as it was).
          httpProxy: proxy.httpProxy ?? '',
          httpsProxy: proxy.httpsProxy ?? proxy.httpProxy ?? '',
          noProxy: proxy.noProxy ?? '',
          // Plain http:// is forwarded as an absolute-URI request; proxies often allow CONNECT only to 443.
          proxyTunnel: false,
        })
      : new Agent({ ...common, connect: opts.tls });
  return base.compose(redirectInterceptor({ maxRedirections: 5 }));
}

/** One response header as a string (repeated headers joined as HTTP joins them). */
export function responseHeader(headers: Dispatcher.ResponseData['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}
