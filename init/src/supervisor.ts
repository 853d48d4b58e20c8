// Service supervision state machine: what to do when a service exits. Pure;
// the caller owns processes and timers and reports events with a clock value.

import { backoffDelay, DEFAULT_BACKOFF, type BackoffPolicy } from './backoff.js';
import type { RestartPolicy } from './runtime-json.js';

export type ServiceState = 'stopped' | 'running' | 'backoff' | 'exited';

export interface ServiceStatus {
  name: string;
  state: ServiceState;
  policy: RestartPolicy;
  pid: number | null;
  /** Exit code of the last run, if any. */
  lastExit: number | null;
  /** Restarts so far. */
  restarts: number;
  /** Consecutive short runs; drives the backoff. */
  failures: number;
  /** When the current run started (ms on the caller's clock). */
  startedAt: number | null;
}

export type ExitDecision = { restart: true; delayMs: number } | { restart: false };

export class Supervisor {
  private readonly services = new Map<string, ServiceStatus & { wanted: boolean }>();

  constructor(private readonly backoff: BackoffPolicy = DEFAULT_BACKOFF) {}

  add(name: string, policy: RestartPolicy): void {
    if (this.services.has(name)) throw new Error(`service ${name} is already supervised`);
    this.services.set(name, {
      name,
      policy,
      state: 'stopped',
      pid: null,
      lastExit: null,
      restarts: 0,
      failures: 0,
      startedAt: null,
      wanted: true,
    });
  }

  has(name: string): boolean {
    return this.services.has(name);
  }

  private get(name: string) {
    const s = this.services.get(name);
    if (!s) throw new Error(`unknown service ${name}`);
    return s;
  }

  started(name: string, pid: number, now: number): void {
    const s = this.get(name);
    if (s.state === 'exited' || s.state === 'backoff') s.restarts++;
    s.state = 'running';
    s.pid = pid;
    s.startedAt = now;
  }

  /** The service whose current process is `pid`, if any. */
  byPid(pid: number): string | undefined {
    for (const s of this.services.values()) if (s.pid === pid && s.state === 'running') return s.name;
    return undefined;
  }

  /** Records an exit and decides whether and when to restart. */
  exited(name: string, code: number, now: number): ExitDecision {
    const s = this.get(name);
    const ranFor = s.startedAt === null ? 0 : now - s.startedAt;
    s.pid = null;
    s.lastExit = code;
    s.startedAt = null;
    s.failures = ranFor >= this.backoff.resetAfterMs ? 1 : s.failures + 1;
    const restart = s.wanted && (s.policy === 'always' || (s.policy === 'on-failure' && code !== 0));
    if (!restart) {
      s.state = s.wanted ? 'exited' : 'stopped';
      return { restart: false };
    }
    s.state = 'backoff';
    return { restart: true, delayMs: backoffDelay(s.failures, this.backoff) };
  }

  /** An operator (or shutdown) stops the service: no restart after it exits. */
  stop(name: string): void {
    const s = this.get(name);
    s.wanted = false;
    if (s.state === 'backoff') s.state = 'stopped';
  }

  /** Wanted again (lkctl start/restart); the backoff starts fresh. */
  want(name: string): void {
    const s = this.get(name);
    s.wanted = true;
    s.failures = 0;
  }

  /** False once an operator (or shutdown) stopped it; a run that started meanwhile must be stopped. */
  wanted(name: string): boolean {
    return this.get(name).wanted;
  }

  /** False once stopped while waiting in backoff: the pending restart must be dropped. */
  shouldStart(name: string): boolean {
    const s = this.get(name);
    return s.wanted && s.state !== 'running';
  }

  status(name: string): ServiceStatus {
    const { wanted: _wanted, ...status } = this.get(name);
    return { ...status };
  }

  list(): ServiceStatus[] {
    return [...this.services.keys()].map((n) => this.status(n));
  }

  running(): { name: string; pid: number }[] {
    return this.list()
      .filter((s) => s.state === 'running' && s.pid !== null)
      .map((s) => ({ name: s.name, pid: s.pid! }));
  }
}
