import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, test } from 'vitest';
import { flowingChunks } from '../../src/util/flowing-chunks.js';

/** A loopback connection whose server end writes `data` and ends; resolves with the client socket. */
async function socketServing(data: Buffer): Promise<{ socket: Socket; close: () => void }> {
  // The reader may hang up early: the server's side then sees a reset, which is expected.
  const server = createServer((s) => s.on('error', () => undefined).end(data));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const socket = connect((server.address() as AddressInfo).port, '127.0.0.1');
  await once(socket, 'connect');
  return { socket, close: () => server.close() };
}

describe('reading a stream in flowing mode', () => {
  test('every byte of a socket arrives in order, and a slow reader pauses it at the queue bound', async () => {
    const data = randomBytes(8 << 20);
    const { socket, close } = await socketServing(data);
    const queueBytes = 256 << 10;
    let received = 0;
    socket.on('data', (c: Buffer) => (received += c.length));
    const parts: Buffer[] = [];
    let consumed = 0;
    let mostAhead = 0;
    try {
      for await (const chunk of flowingChunks(socket, queueBytes)) {
        mostAhead = Math.max(mostAhead, received - consumed);
        parts.push(chunk);
        consumed += chunk.length;
        if (parts.length % 16 === 0) await sleep(2);
      }
    } finally {
      close();
    }
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    // Paused once a quarter MiB waits: never the whole 8 MiB ahead (one socket read may overshoot).
    expect(mostAhead).toBeGreaterThan(0);
    expect(mostAhead).toBeLessThan(queueBytes + (1 << 20));
  });

  test('an error after some chunks reaches the reader after those chunks', async () => {
    const stream = new PassThrough();
    stream.write(Buffer.from('one'));
    stream.write(Buffer.from('two'));
    setTimeout(() => stream.destroy(Object.assign(new Error('connection reset'), { code: 'ECONNRESET' })), 20);
    const seen: string[] = [];
    const failure = await (async () => {
      for await (const c of flowingChunks(stream)) seen.push(c.toString());
    })().catch((e: NodeJS.ErrnoException) => e);
    expect(seen.join('')).toBe('onetwo');
    expect((failure as NodeJS.ErrnoException).code).toBe('ECONNRESET');
  });

  test('a stream closed before its end is a premature close, not a short success', async () => {
    const stream = new PassThrough();
    stream.write(Buffer.from('partial'));
    setTimeout(() => stream.destroy(), 20);
    const failure = await (async () => {
      for await (const _ of flowingChunks(stream));
    })().catch((e: NodeJS.ErrnoException) => e);
    expect((failure as NodeJS.ErrnoException).code).toBe('ERR_STREAM_PREMATURE_CLOSE');
  });

  test('a reader that stops early destroys the stream', async () => {
    const data = randomBytes(4 << 20);
    const { socket, close } = await socketServing(data);
    try {
      for await (const _ of flowingChunks(socket)) break;
      expect(socket.destroyed).toBe(true);
    } finally {
      close();
    }
  });
});
