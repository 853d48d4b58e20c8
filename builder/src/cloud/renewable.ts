/**
 * A value fetched once and shared by concurrent callers (credentials, a token), fetched again
 * after renew() (the service said it expired) or after a failed fetch.
 */
export class Renewable<T> {
  private current?: Promise<T>;
  constructor(private readonly fetch: () => Promise<T>) {}

  get(): Promise<T> {
    const p = (this.current ??= this.fetch());
    p.catch(() => {
      if (this.current === p) this.current = undefined;
    });
    return p;
  }

  renew(): void {
    this.current = undefined;
  }
}
