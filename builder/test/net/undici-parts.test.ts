// The builder loads undici part by part (net/undici.ts) so a command that reaches the network
// does not pay for fetch, WebSocket and the rest at every start. These tests hold the parts to
// being undici's own, and the saving to being real.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { execa } from 'execa';
import * as undici from 'undici';
import { expect, test } from 'vitest';
import { Agent, envHttpProxyAgent, redirectInterceptor, request } from '../../src/net/undici.js';

test('the parts are the very classes and functions undici exports', async () => {
  expect(Agent).toBe(undici.Agent);
  expect(await envHttpProxyAgent()).toBe(undici.EnvHttpProxyAgent);
  expect(redirectInterceptor).toBe(undici.interceptors.redirect);
  expect(typeof new Agent().request).toBe('function');
});

test('request sends the path and query of the URL and follows a redirect through the interceptor', async () => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    if (req.url === '/old?x=1') {
      res.writeHead(307, { location: '/new?y=2' }).end();
      return;
    }
    res.end('here');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const dispatcher = new Agent().compose(redirectInterceptor({ maxRedirections: 2 }));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await request(`http://127.0.0.1:${port}/old?x=1`, { method: 'GET', dispatcher });
    expect(res.statusCode).toBe(200);
    expect(await res.body.text()).toBe('here');
    expect(seen).toEqual(['GET /old?x=1', 'GET /new?y=2']);
  } finally {
    await dispatcher.close();
    server.close();
  }
});

test('loading the registry client does not load undici index, fetch, WebSocket or the proxy agents', async () => {
  const pull = resolve(import.meta.dirname, '../../dist/oci/registry/pull.js');
  const script = `
    import { createRequire } from 'node:module';
    await import(${JSON.stringify(pull)});
    const loaded = Object.keys(createRequire(import.meta.url).cache).filter((p) => p.includes('/undici/'));
    console.log(JSON.stringify(loaded));
  `;
  const { stdout } = await execa('node', ['--input-type=module', '-e', script]);
  const loaded = JSON.parse(stdout) as string[];
  expect(loaded.some((p) => p.endsWith('/undici/lib/dispatcher/agent.js'))).toBe(true);
  expect(loaded.filter((p) => /\/undici\/index\.js$|\/lib\/web\/(fetch|websocket)\//.test(p))).toEqual([]);
  // Only a proxied connection loads these (see proxy.test.ts for one that does).
  expect(loaded.filter((p) => /\/(env-http-proxy-agent|proxy-agent|socks5-proxy-agent)\.js$/.test(p))).toEqual([]);
});
