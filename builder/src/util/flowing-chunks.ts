import type { Readable } from 'node:stream';

/**
 * How much a flowing stream may queue ahead of its reader before it is paused: one write batch
 * (util/chunk-file.ts). With 4 MiB, eight downloads held 32 MiB of buffers between them and V8
 * ran a full mark-compact for that external memory on every pull (--trace-gc: 17-32 ms of GC
 * against 8-15 ms with 1 MiB, six runs each).
 */
export const flowingQueueBytes = 1 << 20;

/**
 * The chunks of `stream`, read in flowing mode ('data' events into a queue, paused past
 * `queueBytes`) instead of through the stream's own async iterator. The iterator reads each
 * chunk with read() after a 'readable' event scheduled on the next tick; on a blob download
 * (a chunk per 64 KiB socket read) that machinery cost a pull more CPU time than its parsing.
 * An error, or a close before the end, is thrown to the reader; a reader that stops early
 * destroys the stream, as leaving a for-await loop does.
 */
export async function* flowingChunks(stream: Readable, queueBytes = flowingQueueBytes): AsyncGenerator<Buffer> {
  const queue: Buffer[] = [];
  let queued = 0;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const notify = () => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  const onData = (chunk: Buffer) => {
    queue.push(chunk);
    queued += chunk.length;
    if (queued >= queueBytes) stream.pause();
    notify();
  };
  const onEnd = () => {
    ended = true;
    notify();
  };
  const onError = (error: unknown) => {
    failure ??= { error };
    notify();
  };
  const onClose = () => {
    if (!ended) onError(Object.assign(new Error('premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
  };
  stream.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  try {
    for (;;) {
      const chunk = queue.shift();
      if (chunk) {
        queued -= chunk.length;
        if (stream.isPaused() && queued < queueBytes / 2) stream.resume();
        yield chunk;
      } else if (failure) throw failure.error;
      else if (ended) return;
      else await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    stream.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
    if (!ended) stream.destroy();
  }
}
