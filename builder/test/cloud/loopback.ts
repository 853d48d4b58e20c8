/** What both cloud stand-ins share: a loopback HTTP server on an ephemeral port, and planned faults. */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface PlannedFault {
  op: string;
  /** The matching call that fails first (1 = the first); consumed when it fires. */
  nth?: number;
  /** How many calls in a row fail (default 1). */
  times?: number;
}

export abstract class LoopbackFake<F extends PlannedFault> {
  faults: F[] = [];
  url = '';
  private server?: Server;
  private counters = new Map<string, number>();

  protected abstract handle(req: IncomingMessage, body: Buffer, res: ServerResponse): void | Promise<void>;

  async start(): Promise<this> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      await this.handle(req, Buffer.concat(chunks), res);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  stop(): Promise<void> {
    return new Promise((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  /** The fault planned for this call of `op`, if any. */
  protected takeFault(op: string): F | undefined {
    const n = (this.counters.get(op) ?? 0) + 1;
    this.counters.set(op, n);
    const i = this.faults.findIndex((f) => f.op === op && (f.nth ?? 1) <= n);
    if (i < 0) return undefined;
    const f = this.faults[i];
    if ((f.times ?? 1) <= 1) this.faults.splice(i, 1);
    else f.times = (f.times ?? 1) - 1;
    return f;
  }
}
