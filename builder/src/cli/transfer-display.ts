import type { TransferEvent } from '../oci/registry/progress-events.js';
import { StatusLine } from './status-line.js';

interface Transfer {
  title: string;
  total: number;
  done: number;
  blobs: number;
  blobsDone: number;
  started: number;
}

/**
 * Progress of pulls and pushes on stderr, one transfer after another (a build pulls each image
 * it is missing): on a terminal one status line with blobs, bytes and rate, redrawn in place at
 * most 10 times a second; otherwise plain lines (the image, each finished blob, a summary) for
 * CI logs. A transfer ends with its 'done' event; `close()` clears what a failed one left.
 * Displays may share one StatusLine (`cache pull A B`, images side by side): the live line shows
 * whichever transfer moved last, and each finished transfer leaves its own line.
 */
export class TransferDisplay {
  private readonly tty: boolean;
  private current?: Transfer;

  /** `title` names every transfer; without it each is named after the image it resolves. */
  constructor(
    private readonly title?: string,
    private readonly status = new StatusLine(),
  ) {
    this.tty = status.tty;
  }

  readonly onEvent = (e: TransferEvent): void => {
    const t = (this.current ??= this.begin(e));
    switch (e.type) {
      case 'resolved':
        t.blobs = e.blobs;
        if (!this.tty) this.line(`${t.title}: ${e.digest} (${e.blobs} blobs)`);
        break;
      case 'blob-start':
        t.total += e.size;
        break;
      case 'blob-bytes':
        t.done += e.bytes;
        break;
      case 'blob-done':
        t.blobsDone++;
        if (!this.tty)
          this.line(
            `${t.title}: ${e.digest.slice(0, 19)} ${e.mounted ? 'mounted' : e.skipped ? 'already present' : 'done'} (${formatBytes(e.size)})`,
          );
        break;
      case 'done':
        this.end(t);
        return;
    }
    if (this.tty) this.draw(t, false);
  };

  /** Clears the line of a transfer that did not finish, so an error message starts on its own. */
  close(): void {
    if (this.current) this.status.clear();
    this.current = undefined;
  }

  private begin(e: TransferEvent): Transfer {
    const title = this.title ?? (e.type === 'resolved' || e.type === 'done' ? `pull ${e.ref}` : 'transfer');
    this.status.reset();
    return { title, total: 0, done: 0, blobs: 0, blobsDone: 0, started: Date.now() };
  }

  private end(t: Transfer): void {
    if (this.tty) {
      this.draw(t, true);
      this.status.keep();
    } else {
      this.line(`${t.title}: ${formatBytes(t.done)} in ${((Date.now() - t.started) / 1000).toFixed(1)}s`);
    }
    this.current = undefined;
  }

  private draw(t: Transfer, force: boolean): void {
    const rate = t.done / Math.max(0.001, (Date.now() - t.started) / 1000);
    const blobs = t.blobs ? `${t.blobsDone}/${t.blobs} blobs` : `${t.blobsDone} blobs`;
    this.status.update(`${t.title}: ${blobs}, ${formatBytes(t.done)}/${formatBytes(t.total)} ${formatBytes(rate)}/s`, force);
  }

  private line(text: string): void {
    this.status.line(text);
  }
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}
