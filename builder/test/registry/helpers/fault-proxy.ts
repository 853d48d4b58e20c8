import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** What the proxy does with one request. */
export type FaultAction =
  | { kind: 'pass' }
  /** Forward without the Range header, as a registry without range support behaves. */
  | { kind: 'ignore-range' }
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  /** Forward headers and the first `afterBytes` of the body, then drop the connection. */
  | { kind: 'cut'; afterBytes: number }
  /** Accept the request and never answer. */
  | { kind: 'hang' }
  /** Forward the body with one byte flipped. */
  | { kind: 'corrupt' };

export interface SeenRequest {
  method: string;
  url: string;
  range?: string;
}

export interface FaultProxy {
  host: string;
  seen: SeenRequest[];
  rule: (req: SeenRequest, seen: SeenRequest[]) => FaultAction;
  stop(): Promise<void>;
}

/** An HTTP proxy in front of a registry that injects faults chosen per request by `rule`. */
export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = {
    host: '',
    seen: [],
    rule: () => ({ kind: 'pass' }),
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const seen: SeenRequest = { method: req.method ?? 'GET', url: req.url ?? '/', range: req.headers.range };
    proxy.seen.push(seen);
    const action = proxy.rule(seen, proxy.seen);
    if (action.kind === 'hang') return;
    if (action.kind === 'status') {
      req.resume();
      res.writeHead(action.status, { 'content-type': 'text/plain', ...action.headers }).end(`injected ${action.status}\n`);
      return;
    }
    const headers = { ...req.headers };
    if (action.kind === 'ignore-range') delete headers.range;
    const upstream = request({ host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      let sent = 0;
      let flipped = false;
      up.on('data', (chunk: Buffer) => {
        if (action.kind === 'cut') {
          const room = action.afterBytes - sent;
          if (room <= 0) return;
          res.write(chunk.subarray(0, room));
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
        res.write(chunk);
      });
      up.on('end', () => res.end());
    });
    upstream.on('error', () => res.socket?.destroy());
    req.pipe(upstream);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return proxy;
}
