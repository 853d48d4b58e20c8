import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { prepareQemu } from '../builder/src/run/qemu.js';

const repo = resolve(import.meta.dirname, '..');
const cli = join(repo, 'builder/bin/lkbuild.js');

/** Builds a case's node.yml with the real CLI into a fresh directory; returns the output prefix. */
export async function buildCase(name: string, formats: string[] = ['kernel+initrd']): Promise<string> {
  const out = await mkdtemp(join(tmpdir(), `lk-boot-${name}-`));
  const file = join(repo, 'qemu-tests/cases', name, 'node.yml');
  const result = await execa('node', [cli, 'build', '-o', out, '-n', name, ...formats.flatMap((f) => ['-f', f]), file], { reject: false, all: true });
  if (result.exitCode !== 0) throw new Error(`lkbuild build ${file} failed (${result.exitCode}):\n${result.all}`);
  return join(out, name);
}

export interface BootResult {
  output: string;
  exitCode: number | null;
  timedOut: boolean;
  /** With opts.qmp: what became of each step. */
  qmp?: QmpOutcome[];
}

/**
 * Boots a kernel+initrd build with the serial console captured; QEMU exits when the guest powers
 * off (tests pass lk.poweroff=ready), or is killed at the timeout. opts.qemuArgs go at the end
 * of QEMU's command line (e.g. an extra NIC).
 */
export async function boot(
  base: string,
  opts: { append?: string; timeoutMs?: number; until?: RegExp; qmp?: QmpStep[]; qemuArgs?: string[] } = {},
): Promise<BootResult> {
  const qmpDir = opts.qmp ? await mkdtemp(join(tmpdir(), 'lk-qmp-')) : null;
  const qmpSocket = qmpDir && join(qmpDir, 'qmp.sock');
  const extraArgs = [...(qmpSocket ? ['-qmp', `unix:${qmpSocket},server=on,wait=off`] : []), ...(opts.qemuArgs ?? [])];
  const inv = await prepareQemu({ base, append: opts.append ?? 'lk.poweroff=ready', memoryMiB: 512, extraArgs });
  // The session retries its connection until QEMU has created the socket.
  const qmp = qmpSocket ? new QmpSession(qmpSocket, opts.qmp!) : null;
  const { elapsedMs: _elapsed, ...result } = await runCaptured(inv.command, inv.args, { ...opts, onOutput: (o) => qmp?.poll(o) });
  if (qmp) {
    result.qmp = qmp.close();
    await rm(qmpDir!, { recursive: true, force: true });
  }
  return result;
}

/**
 * Runs QEMU with the serial console captured: it exits when the guest powers off, or is killed
 * at the timeout or once `until` matches the output.
 */
async function runCaptured(
  command: string,
  args: string[],
  opts: { timeoutMs?: number; until?: RegExp; onOutput?: (output: string) => void },
): Promise<BootResult & { elapsedMs: number }> {
  const started = Date.now();
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, opts.timeoutMs ?? 120_000);
  child.stdout.on('data', (d: Buffer) => {
    output += d.toString('utf8');
    opts.onOutput?.(output);
    if (opts.until?.test(output)) child.kill('SIGKILL');
  });
  child.stderr.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const exitCode = await new Promise<number | null>((r) => {
    child.on('error', () => r(null));
    child.on('exit', (code) => r(code));
  });
  clearTimeout(timer);
  return { output: output.replace(/\r/g, ''), exitCode, timedOut, elapsedMs: Date.now() - started };
}

/**
 * A QMP command that boot() sends over a QMP socket once the console output matches `when`.
 * Steps are sent in order: a step is not sent before the ones ahead of it.
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

/** A client of QEMU's QMP socket that sends boot()'s QmpSteps as the console output matches them. */
class QmpSession {
  private socket: Socket | null = null;
  private ready = false;
  private closed = false;
  private buffer = '';
  private next = 0;
  private lastOutput = '';
  private readonly outcomes: QmpOutcome[];

  constructor(
    private readonly path: string,
    private readonly steps: QmpStep[],
  ) {
    this.outcomes = steps.map((s) => ({ execute: s.execute, sentAt: null, reply: null }));
    this.connect(Date.now() + 30_000);
  }

  /** QEMU creates the socket shortly after it starts: retry until it accepts. */
  private connect(deadline: number): void {
    if (this.closed) return;
    const socket = createConnection(this.path);
    socket.once('error', () => {
      socket.destroy();
      if (this.socket === socket) this.socket = null;
      if (!this.ready && Date.now() < deadline) setTimeout(() => this.connect(deadline), 50);
    });
    socket.once('connect', () => {
      this.socket = socket;
      socket.setEncoding('utf8');
      socket.on('data', (d: string) => this.receive(d));
    });
  }

  private receive(data: string): void {
    this.buffer += data;
    let nl: number;
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl).trim();
      this.buffer = this.buffer.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue; // not QMP: nothing to act on
      }
      if ('QMP' in msg) this.write({ execute: 'qmp_capabilities', id: 'caps' });
      else if (msg.id === 'caps') {
        this.ready = 'return' in msg;
        this.poll(this.lastOutput);
      } else if (typeof msg.id === 'number' && this.outcomes[msg.id]) {
        const { id: _id, ...reply } = msg;
        this.outcomes[msg.id]!.reply = reply;
      }
      // anything else is an asynchronous event
    }
  }

  private write(msg: object): void {
    this.socket?.write(`${JSON.stringify(msg)}\n`);
  }

  /** Sends every due step whose pattern the output now matches. */
  poll(output: string): void {
    this.lastOutput = output;
    if (!this.ready) return;
    while (this.next < this.steps.length && this.steps[this.next]!.when.test(output)) {
      const step = this.steps[this.next]!;
      this.outcomes[this.next]!.sentAt = output.replace(/\r/g, '').length;
      this.write({ execute: step.execute, ...(step.arguments ? { arguments: step.arguments } : {}), id: this.next });
      this.next++;
    }
  }

  close(): QmpOutcome[] {
    this.closed = true;
    this.socket?.destroy();
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
