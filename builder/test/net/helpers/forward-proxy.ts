import { createServer, request, type Server } from 'node:http';
import { connect, type Socket } from 'node:net';

export interface ForwardProxy {
  /** "http://127.0.0.1:<port>" */
  url: string;
  /** Every request: absolute-form targets ("http://host/path") and CONNECT authorities ("host:port"). */
  seen: Array<{ method: string; target: string }>;
  stop(): Promise<void>;
}

/** A plain HTTP forward proxy on loopback: absolute-form requests are relayed, CONNECT is tunnelled. */
export async function startForwardProxy(): Promise<ForwardProxy> {
  const sockets = new Set<Socket>();
  const seen: ForwardProxy['seen'] = [];
  const server: Server = createServer((req, res) => {
    seen.push({ method: req.method ?? 'GET', target: req.url ?? '' });
    let target: URL;
    try {
      target = new URL(req.url ?? '');
    } catch {
      res.writeHead(400).end('absolute-form request expected\n');
      return;
    }
    const headers = { ...req.headers };
    delete headers['proxy-connection'];
    const upstream = request(
      { host: target.hostname, port: target.port || 80, method: req.method, path: target.pathname + target.search, headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  server.on('connect', (req, client: Socket, head: Buffer) => {
    seen.push({ method: 'CONNECT', target: req.url ?? '' });
    const [host, port] = [(req.url ?? '').replace(/:\d+$/, ''), Number(/:(\d+)$/.exec(req.url ?? '')?.[1] ?? 443)];
    const upstream = connect(port, host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    const close = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', close);
    client.on('error', close);
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    seen,
    stop: () =>
      new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
