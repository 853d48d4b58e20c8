// Services: start in dependency order, supervise, stop. The decisions live in
// Supervisor (pure); this file owns processes, timers and logs.

import * as os from 'os';
import * as lk from 'lk';
import { bundleDirs, launch, loadBundle, type Bundle, type Run } from './bundles.js';
import { LogSink } from './logs.js';
import { markers } from './markers.js';
import { startOrder } from './order.js';
import { stepAsync } from './steps.js';
import { Supervisor, type ServiceStatus } from './supervisor.js';
import { detach, errorMessage, log, nowMs, sleep, uptime } from './sys.js';

/** Runs younger than this get their SIGTERM repeated once, after this long. */
const YOUNG_RUN_MS = 1000;

interface Service {
  bundle: Bundle;
  sink: LogSink;
  /** Exit of the current run, while one is running. */
  exit: Promise<number> | null;
  restartTimer: unknown;
  /** A launch is under way (staged starts take a few steps). */
  starting: boolean;
}

export class Services {
  private readonly supervisor = new Supervisor();
  private readonly services = new Map<string, Service>();
  private order: string[] = [];
  private waitFor = new Map<string, string[]>();

  constructor(private readonly consoleLogs: boolean) {}

  /** Reads /containers/services/*. */
  load(): void {
    for (const dir of bundleDirs('services')) {
      const name = dir.slice(dir.lastIndexOf('/') + 1);
      try {
        const bundle = loadBundle(dir, name, 'always');
        this.supervisor.add(name, bundle.runtime.restart);
        this.services.set(name, {
          bundle,
          sink: new LogSink(`/var/log/${name}.log`, this.consoleLogs),
          exit: null,
          restartTimer: null,
          starting: false,
        });
      } catch (e) {
        log(`lk-init: service ${name}: ${errorMessage(e)}`);
      }
    }
    const { order, problems, waitFor } = startOrder(
      [...this.services.values()].map((s) => ({ name: s.bundle.name, depends: s.bundle.runtime.depends })),
    );
    for (const p of problems) log(`lk-init: ${p}`);
    this.order = order;
    this.waitFor = waitFor;
  }

  /**
   * Starts every service, each launched before its dependents; services with no `depends`
   * between them are launched concurrently. Resolves once every launch has ended.
   */
  async startAll(): Promise<void> {
    const launched = new Map<string, Promise<void>>();
    for (const name of this.order) {
      const deps = (this.waitFor.get(name) ?? []).map((d) => launched.get(d)!);
      // stepAsync never rejects: one service that cannot start (even by an exception in our
      // own code) does not hold up the rest.
      launched.set(
        name,
        Promise.all(deps).then(() => stepAsync(`service:${name}`, () => this.start(name))),
      );
    }
    await Promise.all(launched.values());
  }

  has(name: string): boolean {
    return this.services.has(name);
  }

  logPath(name: string): string | undefined {
    return this.services.get(name)?.sink.path;
  }

  sink(name: string): LogSink | undefined {
    return this.services.get(name)?.sink;
  }

  list(): ServiceStatus[] {
    return this.order.map((n) => this.supervisor.status(n));
  }

  /** Starts the service unless it is running; an operator start resets the backoff. */
  async start(name: string, byOperator = false): Promise<void> {
    const service = this.services.get(name);
    if (!service) throw new Error(`no service named ${name}`);
    if (byOperator) this.supervisor.want(name);
    if (service.starting || !this.supervisor.shouldStart(name)) return;
    if (service.restartTimer !== null) {
      os.clearTimeout(service.restartTimer);
      service.restartTimer = null;
    }
    service.starting = true;
    let run: Run;
    try {
      run = await launch(service.bundle, service.sink);
    } catch (e) {
      service.starting = false;
      log(`lk-init: service ${name}: ${errorMessage(e)}`);
      this.exited(name, 255);
      return;
    }
    service.starting = false;
    this.supervisor.started(name, run.pid, nowMs());
    service.exit = run.exit;
    log(markers.serviceStarted(name, run.pid, uptime()));
    detach(
      `service ${name}`,
      run.exit.then((code) => {
        run.drain();
        this.exited(name, code);
      }),
    );
    // Stopped while it was being launched (lkctl stop, shutdown): stop this run too.
    if (!this.supervisor.wanted(name)) signal(run.pid, lk.SIGTERM);
  }

  private exited(name: string, code: number): void {
    const service = this.services.get(name)!;
    service.exit = null;
    const decision = this.supervisor.exited(name, code, nowMs());
    log(markers.serviceExited(name, code, decision.restart ? decision.delayMs : null));
    if (decision.restart) {
      service.restartTimer = os.setTimeout(() => {
        service.restartTimer = null;
        detach(`service ${name}`, this.start(name));
      }, decision.delayMs);
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it has exited. */
  async stop(name: string, graceMs: number): Promise<void> {
    const service = this.services.get(name);
    if (!service) throw new Error(`no service named ${name}`);
    this.supervisor.stop(name);
    if (service.restartTimer !== null) {
      os.clearTimeout(service.restartTimer);
      service.restartTimer = null;
    }
    const exit = service.exit;
    const { pid, startedAt } = this.supervisor.status(name);
    if (!exit || pid === null) return;
    signal(pid, lk.SIGTERM);
    let exited = false;
    void exit.then(() => (exited = true));
    // A SIGTERM that arrives while the container is still starting (before
    // its process installs handlers) is lost; repeat it once for young runs.
    if (startedAt !== null && nowMs() - startedAt < YOUNG_RUN_MS && graceMs > YOUNG_RUN_MS) {
      os.setTimeout(() => {
        if (!exited) signal(pid, lk.SIGTERM);
      }, YOUNG_RUN_MS);
    }
    const killed = await Promise.race([exit.then(() => false), sleep(graceMs).then(() => true)]);
    if (killed) {
      log(`lk-init: service ${name} did not stop within ${graceMs}ms; killing it`);
      signal(pid, lk.SIGKILL);
      await Promise.race([exit, sleep(2000)]);
    }
  }

  async restart(name: string, graceMs: number): Promise<void> {
    await this.stop(name, graceMs);
    await this.start(name, true);
  }

  /** Stops every service in reverse start order, all at once. */
  async stopAll(graceMs: number): Promise<void> {
    await Promise.all([...this.order].reverse().map((n) => this.stop(n, graceMs)));
  }
}

function signal(pid: number, sig: number): void {
  try {
    lk.kill(pid, sig);
  } catch {
    // already gone
  }
}
