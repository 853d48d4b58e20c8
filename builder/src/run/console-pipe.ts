import { constants, openSync, closeSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Socket } from 'node:net';
import { finished } from 'node:stream/promises';
import { runTool } from '../util/host-tool.js';

/**
 * The serial console of a foreground node, between QEMU and lkbuild's stdio, through two FIFOs
 * (QEMU's `-chardev pipe`: PATH.in and PATH.out) rather than QEMU writing to lkbuild's stdout
 * itself. QEMU's UART emulation writes one byte per write(2), and when that stdout is a Unix
 * socket (what Node, and so most CI runners, give a child) each byte takes a socket buffer of
 * its own: a few hundred bytes fill it, QEMU drops the bytes it cannot write, and a reader that
 * lags by milliseconds loses console output. A FIFO counts bytes (64 KiB of slack), and lkbuild
 * copies it on in large writes that Node buffers rather than drops.
 */
export class ConsolePipe {
  private constructor(
    private readonly path: string,
    private readonly output: Socket,
    private readonly input: Socket,
    /** Our own writer on PATH.out, so that the reader sees no end of file before QEMU opens it. */
    private keeper: number | undefined,
  ) {}

  /** Makes PATH.in and PATH.out and opens lkbuild's ends, before QEMU starts. */
  static async create(path: string): Promise<ConsolePipe> {
    await rm(`${path}.in`, { force: true });
    await rm(`${path}.out`, { force: true });
    await runTool('mkfifo', ['-m', '600', `${path}.in`, `${path}.out`], { user: 'the serial console of run qemu' });
    const { O_RDONLY, O_RDWR, O_WRONLY, O_NONBLOCK } = constants;
    // Non-blocking opens: the reader first (no writer needed), then our keeper (a reader exists);
    // PATH.in read-write, which Linux allows on a FIFO without waiting for QEMU.
    const readFd = openSync(`${path}.out`, O_RDONLY | O_NONBLOCK);
    const keeper = openSync(`${path}.out`, O_WRONLY | O_NONBLOCK);
    const writeFd = openSync(`${path}.in`, O_RDWR | O_NONBLOCK);
    const output = new Socket({ fd: readFd, readable: true, writable: false });
    const input = new Socket({ fd: writeFd, readable: false, writable: true });
    input.on('error', () => undefined); // QEMU gone: what is typed after it goes nowhere
    return new ConsolePipe(path, output, input, keeper);
  }

  private stdinPiped = false;

  /** Copies the console to `out` and `stdin` (when it is not a terminal) to the console. */
  connect(out: NodeJS.WritableStream, stdin: NodeJS.ReadStream): void {
    this.output.pipe(out, { end: false });
    if (stdin.isTTY) return;
    stdin.pipe(this.input);
    this.stdinPiped = true;
  }

  /** Once QEMU has exited: copies what is left in the FIFO, then closes and removes both. */
  async close(stdin: NodeJS.ReadStream): Promise<void> {
    if (this.stdinPiped) {
      // Nothing reads the console any more; a stdin left open would keep lkbuild alive.
      stdin.unpipe(this.input);
      stdin.destroy();
    }
    this.input.destroy();
    if (this.keeper !== undefined) closeSync(this.keeper);
    this.keeper = undefined;
    // QEMU's write end closed when it exited, ours just now: the reader ends after the rest.
    await finished(this.output).catch(() => undefined);
    await rm(`${this.path}.in`, { force: true });
    await rm(`${this.path}.out`, { force: true });
  }
}
