// Container output: a pipe per run, pumped to /var/log/<file> and optionally
// the console, plus `lkctl logs -f` followers, and line by line to the remote syslog.

import * as os from 'os';
import * as lk from 'lk';
import { remoteLog } from './remotelog.js';
import { LineSplitter, utf8Length } from './syslog.js';
import { CONSOLE_FD, guarded, log } from './sys.js';

/** /var/log is RAM: a log that grows past this is rotated to <path>.1 (one old copy kept). */
export const LOG_ROTATE_BYTES = 4 * 1024 * 1024;

/** The drain of every pipe still open, so PID 1 can relay what is buffered before it logs. */
const openDrains = new Set<() => void>();

/**
 * Relays what services already wrote. The event loop runs one ready handler per poll, and the
 * signalfd's comes first, so without this a line written just before `kill -TERM 1` would reach
 * the console after the shutdown marker.
 */
export function drainAllLogs(): void {
  for (const drain of openDrains) drain();
}

export class LogSink {
  private fileFd = -1;
  private fileBytes = 0;
  private readonly followers = new Set<number>();

  constructor(
    readonly path: string,
    private readonly toConsole: boolean,
    private readonly rotateBytes = LOG_ROTATE_BYTES,
  ) {}

  private rotateIfFull(): void {
    if (this.fileFd < 0 || this.fileBytes < this.rotateBytes) return;
    os.close(this.fileFd);
    this.fileFd = -1;
    os.rename(this.path, `${this.path}.1`);
  }

  private targets(): number[] {
    this.rotateIfFull();
    if (this.fileFd < 0) {
      try {
        this.fileFd = lk.openAppend(this.path);
        const [st, err] = os.stat(this.path);
        this.fileBytes = err === 0 ? st.size : 0;
      } catch (e) {
        log(`lk-init: log ${this.path}: ${(e as Error).message}`);
      }
    }
    const t = [...this.followers];
    if (this.fileFd >= 0) t.push(this.fileFd);
    if (this.toConsole) t.push(CONSOLE_FD);
    return t;
  }

  /**
   * A fresh pipe for one run: returns the write end for the child (the
   * caller closes it after spawning) and a drain function that pumps what
   * is already buffered, for use right after the child exits.
   */
  open(): { writeFd: number; drain: () => void } {
    const [readFd, writeFd] = lk.pipe();
    lk.setNonBlock(readFd);
    let open = true;
    const lines = new LineSplitter();
    const pumpOnce = (): boolean => {
      if (!open) return false;
      const n = remoteLog.wanted() ? this.forward(lk.tee(readFd, this.targets()), lines) : lk.pump(readFd, this.targets());
      if (n > 0) this.fileBytes += n;
      if (n === 0) {
        open = false;
        openDrains.delete(drain);
        os.setReadHandler(readFd, null);
        os.close(readFd);
      }
      return n > 0;
    };
    os.setReadHandler(
      readFd,
      guarded(`log ${this.path}`, () => {
        pumpOnce();
      }),
    );
    const drain = guarded(`log ${this.path}`, () => {
      while (pumpOnce());
    });
    openDrains.add(drain);
    return { writeFd, drain };
  }

  /** The remote syslog's APP-NAME: the log file's name, e.g. "sshd" or "onboot.format". */
  get appName(): string {
    return this.path.slice(this.path.lastIndexOf('/') + 1).replace(/\.log$/, '');
  }

  /** Sends tee's text on line by line; returns what pump would have (bytes, 0 at EOF, -1 if none). */
  private forward(text: string | null, lines: LineSplitter): number {
    if (text === null) return -1;
    const complete = text === '' ? lines.flush() : lines.push(text);
    for (const line of complete) remoteLog.send(this.appName, line);
    return utf8Length(text);
  }

  /** Streams new output to `fd` until it is removed. */
  follow(fd: number): void {
    lk.setNonBlock(fd);
    this.followers.add(fd);
  }

  unfollow(fd: number): void {
    this.followers.delete(fd);
  }
}
