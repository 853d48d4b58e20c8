// Responses read chunk by chunk from undici's parser (net/chunk-response.ts), against real HTTP
// servers on loopback, through the builder's own dispatcher (redirects included).
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, expect, test } from 'vitest';
import { requestChunks } from '../../src/net/chunk-response.js';
import { createDispatcher } from '../../src/net/dispatcher.js';
import { errorCode, isRetryableError } from '../../src/net/retry.js';

const servers: Server[] = [];
const dispatcher = await createDispatcher({ env: {} });

afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});
afterAll(() => dispatcher.close());

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Writes `block` `times` times as the client takes it; `sent` counts what the socket accepted. */
function writeBlocks(res: ServerResponse, block: Buffer, times: number, sent: { bytes: number }): void {
  let left = times;
  const more = (): void => {
    while (left > 0 && !res.destroyed) {
      left--;
      sent.bytes += block.length;
      if (!res.write(block)) return void res.once('drain', more);
    }
    if (!res.destroyed) res.end();
  };
  more();
}

const get = (url: string, queueBytes?: number, signal?: AbortSignal) =>
  requestChunks(url, { method: 'GET', dispatcher, queueBytes, signal });

test('every byte arrives in order, and a reader that stops reading stops the sender (through a redirect)', async () => {
  const block = randomBytes(1 << 20);
  const blocks = 64;
  const sent = { bytes: 0 };
  const storage = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': String(block.length * blocks) });
    writeBlocks(res, block, blocks, sent);
  });
  const front = await serve((_req, res) => res.writeHead(307, { location: `${storage}/blob` }).end());
  const res = await get(`${front}/blob`, 256 << 10);
  expect(res.statusCode).toBe(200);
  const hash = createHash('sha256');
  let received = 0;
  let sentWhilePaused = -1;
  for await (const chunk of res.body) {
    hash.update(chunk);
    received += chunk.length;
    if (sentWhilePaused < 0 && received >= 1 << 20) {
      // The reader falls silent: the queue fills, the connection is paused and the sender stalls
      // once the socket buffers are full, far short of the 64 MiB it would send otherwise.
      await sleep(400);
      sentWhilePaused = sent.bytes;
    }
  }
  expect(received).toBe(block.length * blocks);
  expect(hash.digest('hex')).toBe(
    createHash('sha256')
      .update(Buffer.concat(Array(blocks).fill(block)))
      .digest('hex'),
  );
  expect(sentWhilePaused).toBeGreaterThan(1 << 20);
  expect(sentWhilePaused).toBeLessThan(32 << 20);
});

test('a connection dropped midway: the chunks before it, then a retryable error', async () => {
  const url = await serve((_req, res) => {
    res.writeHead(200, { 'content-length': String(1 << 20) });
    res.write(Buffer.alloc(100_000, 7), () => setTimeout(() => res.socket?.destroy(), 50));
  });
  const res = await get(url);
  let received = 0;
  const failure = await (async () => {
    for await (const chunk of res.body) received += chunk.length;
  })().catch((e: unknown) => e);
  expect(received).toBe(100_000);
  expect(failure).toBeInstanceOf(Error);
  expect(errorCode(failure)).toBe('UND_ERR_SOCKET');
  expect(isRetryableError(failure)).toBe(true);
});

test('a reader that stops early closes the connection', async () => {
  let closedAfter!: (bytes: number) => void;
  const closed = new Promise<number>((resolve) => (closedAfter = resolve));
  const url = await serve((_req, res) => {
    const sent = { bytes: 0 };
    res.on('close', () => closedAfter(sent.bytes));
    res.writeHead(200, { 'content-length': String(64 << 20) });
    writeBlocks(res, Buffer.alloc(1 << 20), 64, sent);
  });
  const res = await get(url);
  for await (const _ of res.body) break;
  expect(await closed).toBeLessThan(64 << 20);
});

test('the abort signal stops a body midway, and a request still waiting for its headers', async () => {
  const url = await serve((req, res) => {
    if (req.url === '/silent') return;
    res.writeHead(200, { 'content-length': String(1 << 20) });
    res.write(Buffer.alloc(1000));
  });
  const controller = new AbortController();
  const res = await get(url, undefined, controller.signal);
  const reading = (async () => {
    for await (const _ of res.body) controller.abort(new Error('time is up'));
  })();
  await expect(reading).rejects.toThrow('time is up');

  const waiting = new AbortController();
  setTimeout(() => waiting.abort(new Error('gave up waiting')), 100);
  await expect(get(`${url}/silent`, undefined, waiting.signal)).rejects.toThrow('gave up waiting');
});

test('a small body dumped unread keeps its connection open, a large one closes it', async () => {
  const sockets = new Map<string, Socket>();
  const url = await serve((req, res) => {
    sockets.set(req.url ?? '', req.socket);
    if (req.url === '/denied') return void res.writeHead(401, { 'content-type': 'text/plain' }).end('log in first\n');
    res.writeHead(404, { 'content-length': String(8 << 20) });
    writeBlocks(res, Buffer.alloc(1 << 20), 8, { bytes: 0 });
  });
  const denied = await get(`${url}/denied`);
  expect(denied.statusCode).toBe(401);
  await denied.body.dump();
  await sleep(200);
  expect(sockets.get('/denied')?.destroyed).toBe(false);
  const large = await get(`${url}/large`);
  await large.body.dump();
  await sleep(200);
  expect(sockets.get('/large')?.destroyed).toBe(true);
});
