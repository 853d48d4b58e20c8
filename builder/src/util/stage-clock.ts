/**
 * Wall time per stage of a build (pull, each recipe, unpack, assemble, compress, each format),
 * for the line a build ends with. Stages run one at a time; a stage timed inside another (unpack
 * inside assemble, compress inside a format) counts toward the inner one only, so the figures
 * add up to the time they cover. A stage timed several times (one unpack per image) adds up.
 */
export class StageClock {
  private readonly totals = new Map<string, number>();
  /** The stages running now, innermost last, each with the time its inner stages took. */
  private readonly running: { inner: number }[] = [];

  /** `onStage` hears each timed step as it ends (--verbose prints them). */
  constructor(
    private readonly onStage?: (stage: string, seconds: number, detail?: string) => void,
    private readonly now: () => number = () => performance.now() / 1000,
  ) {}

  /** Lists stages in pipeline order before they run, so each shows even when it takes no time. */
  declare(...stages: string[]): void {
    for (const s of stages) if (!this.totals.has(s)) this.totals.set(s, 0);
  }

  async time<T>(stage: string, fn: () => Promise<T>, detail?: string): Promise<T> {
    this.declare(stage);
    const frame = { inner: 0 };
    this.running.push(frame);
    const start = this.now();
    try {
      return await fn();
    } finally {
      const took = this.now() - start;
      this.running.pop();
      const outer = this.running.at(-1);
      if (outer) outer.inner += took;
      const own = took - frame.inner;
      this.totals.set(stage, (this.totals.get(stage) ?? 0) + own);
      this.onStage?.(stage, own, detail);
    }
  }

  /** Every stage with its seconds, in the order they were declared or first started. */
  stages(): [string, number][] {
    return [...this.totals];
  }
}

/** `clock.time(...)`, or just `fn()` when nobody is timing. */
export function timed<T>(clock: StageClock | undefined, stage: string, fn: () => Promise<T>, detail?: string): Promise<T> {
  return clock ? clock.time(stage, fn, detail) : fn();
}

/** "pull 0.00s, recipe kernel 0.02s, ...": one line's worth. */
export function formatStages(stages: [string, number][]): string {
  return stages.map(([s, t]) => `${s} ${t.toFixed(2)}s`).join(', ');
}
