import { createConnection, type Socket } from 'node:net';
import { LkError } from '../errors.js';

/** QEMU's answer to a command: {return: ...} or {error: {class, desc}}. */
export type QmpReply = { return?: unknown; error?: { class: string; desc: string } };
export type QmpEvent = { event: string; data?: Record<string, unknown> };

/**
 * A client of QEMU's QMP socket (JSON lines). QEMU serves one client at a time, so lkbuild
 * connects only for what it has to say and then closes.
 */
export class QmpClient {
  private buffer = '';
  private nextId = 0;
  private readonly pending = new Map<number, (r: QmpReply) => void>();
  private readonly closed: Promise<void>;
  readonly events: QmpEvent[] = [];
  onEvent?: (e: QmpEvent) => void;

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => this.receive(d));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
  }

  /** Connects (retrying until `timeoutMs` while QEMU creates the socket) and negotiates capabilities. */
  static async connect(path: string, timeoutMs = 10_000): Promise<QmpClient> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const socket = await new Promise<Socket | null>((resolve) => {
        const s = createConnection(path);
        s.once('connect', () => resolve(s));
        s.once('error', () => {
          s.destroy();
          resolve(null);
        });
      });
      if (socket) {
        const client = new QmpClient(socket);
        // QEMU serves one client at a time: another one connected means no greeting, no answer.
        const caps = await Promise.race([
          client.execute('qmp_capabilities'),
          new Promise<QmpReply>((r) =>
            setTimeout(() => r({ error: { class: 'Timeout', desc: 'no answer (is another QMP client connected?)' } }), 5000).unref(),
          ),
        ]);
        if (caps.error) client.close();
        if (caps.error) throw new LkError('run', `QEMU refused QMP at ${path}: ${caps.error.desc}`);
        return client;
      }
      if (Date.now() >= deadline) throw new LkError('run', `cannot connect to QEMU's QMP socket ${path}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  private receive(data: string): void {
    this.buffer += data;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue; // not QMP: nothing to act on
      }
      if (typeof msg.id === 'number' && this.pending.has(msg.id)) {
        const { id, ...reply } = msg;
        this.pending.get(id as number)!(reply as QmpReply);
        this.pending.delete(id as number);
      } else if (typeof msg.event === 'string') {
        this.events.push(msg as QmpEvent);
        this.onEvent?.(msg as QmpEvent);
      }
    }
  }

  /** Sends a command; resolves with QEMU's reply, or {error} if the connection closes first. */
  execute(command: string, args?: Record<string, unknown>): Promise<QmpReply> {
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.closed.then(() => {
        if (this.pending.delete(id)) resolve({ error: { class: 'Disconnected', desc: 'QEMU closed the QMP connection' } });
      });
      this.socket.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  /** Resolves when QEMU closes the connection (it has exited). */
  whenClosed(): Promise<void> {
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
