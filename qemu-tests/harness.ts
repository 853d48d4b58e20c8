import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { QmpClient } from '../builder/src/run/qmp.js';

const repo = resolve(import.meta.dirname, '..');
export const cli = join(repo, 'builder/bin/lkbuild.js');

/** Builds a case's node.yml with the real CLI (and `args`, e.g. --sign-key) into a fresh directory; returns the output prefix. */
export async function buildCase(name: string, formats: string[] = ['kernel+initrd'], args: string[] = []): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), `lk-boot-${name}-`));
  const file = join(repo, 'qemu-tests/cases', name, 'node.yml');
  const result = await execa('node', [cli, 'build', '-o', out, '-n', name, ...formats.flatMap((f) => ['-f', f]), ...args, file], {
    reject: false,
    all: true,
  });
  if (result.exitCode !== 0) throw new Error(`lkbuild build ${file} failed (${result.exitCode}):\n${result.all}`);
  return join(out, name);
}

export interface BootResult {
  output: string;
  exitCode: number | null;
  /** lkbuild's --timeout stopped the node (exit 124), or the harness had to kill it. */
  timedOut: boolean;
  /** boot(): the node's state directory (console.log, qemu.pid, qmp.sock, disks, seed.iso). */
  state?: string;
  /** With opts.qmp: what became of each step. */
  qmp?: QmpOutcome[];
}

export interface BootOptions {
  /** Added to the kernel command line (default lk.poweroff=ready); '' adds nothing (disks, ISOs). */
  append?: string;
  timeoutMs?: number;
  /** QMP commands sent as the console output matches. */
  qmp?: QmpStep[];
  /** Given to QEMU after `--` (e.g. an extra NIC). */
  qemuArgs?: string[];
  /** More `run qemu` options (--networking, --disk, --publish, ...). */
  args?: string[];
  /** The state directory (default: a fresh temporary one, removed afterwards). */
  state?: string;
  /** Stop the node at once (lkbuild is killed; QEMU dies with it) when the output matches. */
  until?: RegExp;
  /** Text typed on the serial console (lkbuild's stdin) once the output matches, each once, in order. */
  input?: Array<{ when: RegExp; text: string }>;
  /** Called with the console output so far, each time it grows, and a way to signal lkbuild. */
  onOutput?: (output: string, signal: (s: NodeJS.Signals) => void) => void;
}

/**
 * Boots a build through the real CLI, `lkbuild run qemu --timeout ...`, with the serial console
 * captured: QEMU exits when the guest powers off (tests pass lk.poweroff=ready), lkbuild stops
 * it at the timeout.
 */
export async function boot(base: string, opts: BootOptions = {}): Promise<BootResult> {
  const state = opts.state ?? (await mkdtemp(join(tmpdir(), 'lk-state-')));
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const append = opts.append ?? 'lk.poweroff=ready';
  const args = [
    'run',
    'qemu',
    '--mem',
    '512',
    '--state',
    state,
    '--timeout',
    String(Math.ceil(timeoutMs / 1000)),
    ...(append ? ['--append', append] : []),
    ...(opts.args ?? []),
    base,
    ...(opts.qemuArgs?.length ? ['--', ...opts.qemuArgs] : []),
  ];
  const qmp = opts.qmp ? new QmpSession(join(state, 'qmp.sock'), opts.qmp) : null;
  try {
    const input = [...(opts.input ?? [])];
    const r = await runCaptured('node', [cli, ...args], {
      timeoutMs: timeoutMs + 60_000, // lkbuild's own --timeout comes first; this only catches a hung lkbuild
      stdin: input.length > 0,
      until: opts.until,
      onOutput: (o, signal, type) => {
        qmp?.poll(o);
        while (input.length && input[0]!.when.test(o)) type(input.shift()!.text);
        opts.onOutput?.(o, signal);
      },
    });
    return {
      output: r.output,
      exitCode: r.exitCode,
      timedOut: r.timedOut || r.exitCode === 124,
      state,
      ...(qmp ? { qmp: await qmp.close() } : {}),
    };
  } finally {
    if (!opts.state) await rm(state, { recursive: true, force: true });
  }
}

/** Runs the lkbuild CLI to completion; for the tests of its exit status and messages. */
export async function lkbuild(
  args: string[],
  opts: { timeoutMs?: number } = {},
): Promise<{ exitCode: number | undefined; stdout: string; stderr: string }> {
  const r = await execa('node', [cli, ...args], { reject: false, stdin: 'ignore', timeout: opts.timeoutMs ?? 120_000 });
  return { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/**
 * Runs QEMU with the serial console captured: it exits when the guest powers off, or is killed
 * at the timeout or once `until` matches the output.
 */
async function runCaptured(
  command: string,
  args: string[],
  opts: {
    timeoutMs?: number;
    until?: RegExp;
    /** Keep stdin open for onOutput's `type`. */
    stdin?: boolean;
    onOutput?: (output: string, signal: (s: NodeJS.Signals) => void, type: (text: string) => void) => void;
  },
): Promise<BootResult & { elapsedMs: number }> {
  const started = Date.now();
  const child = spawn(command, args, { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
  let output = '';
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 120_000);
  const take = (d: Buffer) => {
    output += d.toString('utf8');
    opts.onOutput?.(
      output.replace(/\r/g, ''),
      (sig) => child.kill(sig),
      (text) => child.stdin?.write(text),
    );
    if (opts.until?.test(output)) child.kill('SIGKILL');
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  const exitCode = await new Promise<number | null>((r) => {
    child.on('error', () => r(null));
    child.on('exit', (code) => r(code));
  });
  clearTimeout(timer);
  return { output: output.replace(/\r/g, ''), exitCode, timedOut, elapsedMs: Date.now() - started };
}

/**
 * A QMP command that boot() sends over the node's QMP socket once the console output matches
 * `when`. Steps are sent in order: a step is not sent before the ones ahead of it.
 */
export interface QmpStep {
  when: RegExp;
  execute: string;
  arguments?: Record<string, unknown>;
}

export interface QmpOutcome {
  execute: string;
  /** Length of BootResult.output (carriage returns removed) when the command was sent; null if it never was. */
  sentAt: number | null;
  /** QEMU's answer: {return: ...} or {error: {class, desc}}; null if none came. */
  reply: Record<string, unknown> | null;
}

/** QMP's send-key: the keys (QEMU qcodes, e.g. "ctrl", "alt", "delete") pressed together, then released. */
export function sendKey(when: RegExp, ...keys: string[]): QmpStep {
  return { when, execute: 'send-key', arguments: { keys: keys.map((k) => ({ type: 'qcode', data: k })) } };
}

/**
 * Sends boot()'s QmpSteps as the console output matches them, through lkbuild's QMP client. It
 * connects when the first step is due (QEMU serves one QMP client at a time: lkbuild's own
 * `run stop` must be able to connect until then).
 */
class QmpSession {
  private client: Promise<QmpClient | null> | null = null;
  private next = 0;
  private readonly outcomes: QmpOutcome[];
  private readonly sent: Promise<void>[] = [];

  constructor(
    private readonly path: string,
    private readonly steps: QmpStep[],
  ) {
    this.outcomes = steps.map((s) => ({ execute: s.execute, sentAt: null, reply: null }));
  }

  /** Sends every due step whose pattern the output now matches. */
  poll(output: string): void {
    while (this.next < this.steps.length && this.steps[this.next]!.when.test(output)) {
      const i = this.next++;
      const step = this.steps[i]!;
      this.client ??= QmpClient.connect(this.path, 10_000).catch(() => null);
      const sentAt = output.length;
      this.sent.push(
        this.client.then(async (c) => {
          if (!c) return;
          this.outcomes[i]!.sentAt = sentAt;
          this.outcomes[i]!.reply = (await c.execute(step.execute, step.arguments)) as Record<string, unknown>;
        }),
      );
    }
  }

  async close(): Promise<QmpOutcome[]> {
    await Promise.all(this.sent);
    (await this.client)?.close();
    return this.outcomes;
  }
}

export interface Marker {
  event: string;
  name?: string;
  fields: Record<string, string>;
  line: string;
}

/** Parses the init's console markers ("lk-init: <event> [name] key=value...") in order. */
export function markers(output: string): Marker[] {
  const found: Marker[] = [];
  for (const line of output.split('\n')) {
    const m = /lk-init: (\w+)((?: [^ =]+)?)((?: [\w-]+=\S*)*)\s*$/.exec(line);
    if (!m) continue;
    const words = m[2].trim().split(' ').filter(Boolean);
    const fields: Record<string, string> = {};
    for (const kv of m[3].trim().split(' ').filter(Boolean)) {
      const i = kv.indexOf('=');
      fields[kv.slice(0, i)] = kv.slice(i + 1);
    }
    found.push({ event: m[1], name: words[0], fields, line });
  }
  return found;
}

/**
 * Boots QEMU with arbitrary arguments (firmware, -cdrom, -drive, ...) on top of a common base
 * (q35, TCG, 512 MiB, no reboot, serial console on stdio), capturing the console like boot():
 * QEMU exits when the guest powers off, or is killed at the timeout or once `until` matches.
 * Returns the console output and the wall time from start to exit.
 */
export async function bootQemuArgs(
  args: string[],
  opts: { timeoutMs?: number; until?: RegExp; memoryMiB?: number } = {},
): Promise<BootResult & { elapsedMs: number }> {
  const base = ['-machine', 'q35', '-accel', 'tcg', '-cpu', 'max', '-smp', '1', '-m', String(opts.memoryMiB ?? 512), '-no-reboot'];
  const serial = ['-display', 'none', '-monitor', 'none', '-serial', 'stdio'];
  return runCaptured('qemu-system-x86_64', [...base, ...serial, ...args], opts);
}
