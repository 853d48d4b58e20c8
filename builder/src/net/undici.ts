/**
 * The parts of undici the builder uses, each imported from its own file. undici's index also
 * loads fetch, WebSocket, EventSource, cookies, its caches and mocks: 50-90 ms at every start of
 * a command that reaches the network (measured on `cache pull`), for code no command runs. The
 * values are undici's own classes and functions (types in undici-lib.d.ts). Static imports, so
 * the CLI's bundle (scripts/bundle.mjs) carries these parts and nothing else of undici. An
 * undici release that moves one of these files fails the build.
 */
import { setFlagsFromString } from 'node:v8';
import type * as Undici from 'undici';
import api from 'undici/lib/api/index.js';
import Agent from 'undici/lib/dispatcher/agent.js';
import Dispatcher from 'undici/lib/dispatcher/dispatcher.js';
import redirectInterceptor from 'undici/lib/interceptor/redirect.js';

export { Agent, redirectInterceptor };

// undici parses HTTP with llhttp compiled to WebAssembly, on the first connection. V8 compiles
// it at once with its baseline compiler (Liftoff), then recompiles the hot parts with its
// optimising one in background threads that Node waits for before it exits: ~0.1 s of CPU
// and 60-250 ms of wall time at the end of every command that made a request (measured on a
// `cache pull`: the output came, then the process idled). The parser's work per request is
// small (a body is handed over in spans, not parsed byte by byte), so the baseline code is
// all it needs. Set before any connection, so before the module is compiled.
setFlagsFromString('--liftoff-only');

// undici's index gives every dispatcher its request/stream/pipeline/connect/upgrade methods by
// mixing its API into Dispatcher.prototype, and undici relies on that itself (ProxyAgent
// tunnels through `connect`); loaded part by part, the mixing is done here.
Object.assign(Dispatcher.prototype, api);

/**
 * undici's EnvHttpProxyAgent, loaded on first use: it brings ProxyAgent and a SOCKS5 client
 * (~3 ms of CPU at every start of a network command), and only a proxied connection needs it.
 */
export async function envHttpProxyAgent(): Promise<typeof Undici.EnvHttpProxyAgent> {
  return (await import('undici/lib/dispatcher/env-http-proxy-agent.js')).default;
}

export type RequestOptions = Omit<Undici.Dispatcher.RequestOptions, 'origin' | 'path'> & { dispatcher: Undici.Dispatcher };

/** Where a request for `url` goes, as undici's dispatchers take it: origin, and path with the query. */
export function requestTarget(url: string | URL): { origin: string; path: string } {
  const u = new URL(url);
  return { origin: u.origin, path: `${u.pathname}${u.search}` };
}

/** undici's `request(url, options)` with the dispatcher always given (the builder never uses a global one). */
export function request(url: string | URL, { dispatcher, ...opts }: RequestOptions): Promise<Undici.Dispatcher.ResponseData> {
  return dispatcher.request({ ...opts, ...requestTarget(url) });
}
