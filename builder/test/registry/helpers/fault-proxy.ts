import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { StoredImage } from '../../../src/oci/image-store.js';
import { makeImageLayout, skopeoPush } from './images.js';
import { startRegistry, type RunningRegistry } from './registry-server.js';

/** What the proxy does with one request. */
export type FaultAction =
  | { kind: 'pass' }
  /** Forward without the Range header, as a registry without range support behaves. */
  | { kind: 'ignore-range' }
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  /** Forward headers and the first `afterBytes` of the body, then drop the connection. */
  | { kind: 'cut'; afterBytes: number }
  /** Forward headers and the first `afterBytes` of the body, then fall silent with the connection open. */
  | { kind: 'stall'; afterBytes: number }
  /** Forward the body without its length, then keep sending `extraBytes` of zeros. */
  | { kind: 'pad'; extraBytes: number }
  /** Accept the request and never answer. */
  | { kind: 'hang' }
  /** Forward the body with one byte flipped. */
  | { kind: 'corrupt' }
  /** Forward the request as it is once `until` settles. */
  | { kind: 'wait'; until: Promise<unknown> };

export interface SeenRequest {
  method: string;
  url: string;
  range?: string;
  /** When the request arrived (Date.now()). */
  at: number;
}

export interface FaultProxy {
  host: string;
  seen: SeenRequest[];
  /** Body bytes written to clients so far. */
  bytesSent: number;
  rule: (req: SeenRequest, seen: SeenRequest[]) => FaultAction;
  stop(): Promise<void>;
}

/** An HTTP proxy in front of a registry that injects faults chosen per request by `rule`. */
export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    host: '',
    seen: [],
    bytesSent: 0,
    rule: () => ({ kind: 'pass' }),
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const seen: SeenRequest = { method: req.method ?? 'GET', url: req.url ?? '/', range: req.headers.range, at: Date.now() };
    proxy.seen.push(seen);
    const action = proxy.rule(seen, proxy.seen);
    if (action.kind === 'wait') {
      const go = () => answer({ kind: 'pass' });
      action.until.then(go, go);
      return;
    }
    answer(action);

    function answer(action: Exclude<FaultAction, { kind: 'wait' }>): void {
      if (action.kind === 'hang') return;
      if (action.kind === 'status') {
        req.resume();
        res.writeHead(action.status, { 'content-type': 'text/plain', ...action.headers }).end(`injected ${action.status}\n`);
        return;
      }
      const headers = { ...req.headers };
      if (action.kind === 'ignore-range') delete headers.range;
      const upstream = request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers }, (up) => {
        const upHeaders = { ...up.headers };
        if (action.kind === 'pad') delete upHeaders['content-length'];
        res.writeHead(up.statusCode ?? 502, upHeaders);
        let sent = 0;
        let flipped = false;
        const write = (chunk: Buffer, done?: () => void) => {
          proxy.bytesSent += chunk.length;
          return res.write(chunk, done);
        };
        up.on('data', (chunk: Buffer) => {
          if (action.kind === 'stall') {
            const room = action.afterBytes - sent;
            if (room > 0) write(chunk.subarray(0, room));
            sent += Math.min(Math.max(room, 0), chunk.length);
            return;
          }
          if (action.kind === 'cut') {
            const room = action.afterBytes - sent;
            if (room <= 0) return;
            write(chunk.subarray(0, room));
            sent += Math.min(room, chunk.length);
            if (sent >= action.afterBytes) {
              up.destroy();
              // let the bytes go out, then break the connection mid-body
              setTimeout(() => res.socket?.destroy(), 20);
            }
            return;
          }
          if (action.kind === 'corrupt' && !flipped && chunk.length > 0) {
            chunk = Buffer.from(chunk);
            chunk[0] ^= 0xff;
            flipped = true;
          }
          write(chunk);
        });
        up.on('end', () => {
          if (action.kind === 'stall') return;
          if (action.kind === 'pad') return padThenEnd(res, action.extraBytes, write);
          res.end();
        });
      });
      upstream.on('error', () => res.socket?.destroy());
      req.pipe(upstream);
    }
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return proxy;
}

/** Writes `extra` zero bytes, 64 KiB at a time as the client takes them, then ends; stops if the client goes away. */
function padThenEnd(res: ServerResponse, extra: number, write: (chunk: Buffer, done?: () => void) => boolean): void {
  const block = Buffer.alloc(64 << 10);
  let left = extra;
  const more = (): void => {
    while (left > 0 && !res.destroyed) {
      const n = Math.min(left, block.length);
      left -= n;
      if (!write(block.subarray(0, n))) {
        res.once('drain', more);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  more();
}

/**
 * A real registry holding one generated image (`name`:1, pushed by skopeo) behind a fault
 * proxy; `rule` is reset to pass-through and `seen` emptied by `reset()`.
 */
export async function startFaultyRegistry(
  name: string,
  layers: number,
  bytesPerLayer: number,
): Promise<{ registry: RunningRegistry; proxy: FaultProxy; image: StoredImage; reset(): void }> {
  const registry = await startRegistry();
  const made = await makeImageLayout(`src/${name}:1`, layers, bytesPerLayer);
  await skopeoPush(made.layout.root, `src/${name}:1`, `${registry.host}/${name}:1`);
  const proxy = await startFaultProxy(registry);
  const reset = () => {
    proxy.seen.length = 0;
    proxy.rule = () => ({ kind: 'pass' });
  };
  return { registry, proxy, image: made.image, reset };
}
