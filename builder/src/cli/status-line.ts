/**
 * The one live status of a command on stderr. On a terminal: one line redrawn in place, at most
 * ten times a second, that any other line first clears. Elsewhere (CI logs): plain lines, a
 * status at most once per `plainEverySeconds`, so a long stage still shows it is alive.
 */
export class StatusLine {
  readonly tty: boolean;
  private shown = false;
  private lastDraw = -Infinity;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stderr,
    private readonly plainEverySeconds = 30,
    private readonly now: () => number = Date.now,
  ) {
    this.tty = out.isTTY === true;
  }

  /** Shows `text` as the status; `force` draws it even if the last draw was a moment ago. */
  update(text: string, force = false): void {
    const now = this.now();
    const every = this.tty ? 100 : this.plainEverySeconds * 1000;
    if (!force && now - this.lastDraw < every) return;
    this.lastDraw = now;
    if (this.tty) {
      this.out.write(`\r\x1b[K${text}`);
      this.shown = true;
    } else {
      this.out.write(`lkbuild: ${text}\n`);
    }
  }

  /** A line that stays: "lkbuild: <text>", below a status that was showing; the next status draws at once. */
  line(text: string): void {
    this.clear();
    this.out.write(`lkbuild: ${text}\n`);
    this.reset();
  }

  /** Ends the status where it stands: the last drawn line stays on the terminal. */
  keep(): void {
    if (this.shown) this.out.write('\n');
    this.shown = false;
  }

  /** Erases the status, so what comes next (an error message) starts on its own line. */
  clear(): void {
    if (this.shown) this.out.write('\r\x1b[K');
    this.shown = false;
  }

  /** The next update draws at once, whenever the last one was. */
  reset(): void {
    this.lastDraw = -Infinity;
  }
}
