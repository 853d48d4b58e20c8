// Starting one bundle through lk-run, with its runtime.json preparations.

import * as os from 'os';
import * as lk from 'lk';
import { adopt, spawn, type Child } from './children.js';
import type { LogSink } from './logs.js';
import { planMount, type OciMount } from './mountopts.js';
import { bindSteps, interfaceSteps, needsStagedStart, parseRuntime } from './runtime.js';
import type { RestartPolicy, RuntimeJson } from './runtime-json.js';
import { CONSOLE_FD, errorMessage, exists, isDir, listDir, log, mkdirp, readText, writeText } from './sys.js';

export const LK_RUN = '/usr/bin/lk-run';
/** lk-run's default state root (create/start/delete). */
const LK_RUN_STATE = '/run/lk-run';
const PID_FILES = '/run/lk-init';
export const CONTAINERS = '/containers';

export interface Bundle {
  /** Container id and log name (without the NNN- ordering prefix). */
  name: string;
  dir: string;
  runtime: RuntimeJson;
}

export function loadBundle(dir: string, name: string, defaultRestart: RestartPolicy): Bundle {
  const { spec, problems } = parseRuntime(readText(`${dir}/runtime.json`), defaultRestart);
  for (const p of problems) log(`lk-init: ${dir}/runtime.json: ${p}`);
  return { name, dir, runtime: spec };
}

/** Bundle directories of a phase ("onboot", "services", "onshutdown"), sorted. */
export function bundleDirs(phase: string): string[] {
  return listDir(`${CONTAINERS}/${phase}`).map((d) => `${CONTAINERS}/${phase}/${d}`);
}

function mountOnHost(m: OciMount, rootfs: string): void {
  const plan = planMount(m, rootfs);
  for (const dir of plan.mkdirs) mkdirp(dir);
  mkdirp(plan.target);
  lk.mount(plan.source, plan.target, plan.fstype, plan.flags, plan.data);
  if (plan.remountReadOnly) lk.mount(null, plan.target, null, plan.flags | lk.MS_REMOUNT, null);
  if (plan.propagation) lk.mount(null, plan.target, null, plan.propagation, null);
}

/** Bundles whose runtime.json preparations are done: a restart must not stack its mounts again. */
const prepared = new Set<string>();

/** runtime.json's mkdir, mounts and cgroups, done by the init once, before the container first starts. */
function prepare(bundle: Bundle): void {
  if (prepared.has(bundle.dir)) return;
  prepared.add(bundle.dir);
  // Each step on its own: one that fails is logged, and the container still starts.
  const step = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      log(`lk-init: ${bundle.name}: ${what}${(e as Error).message}`);
    }
  };
  for (const dir of bundle.runtime.mkdir) step('', () => mkdirp(dir));
  for (const m of bundle.runtime.mounts) step('', () => mountOnHost(m, `${bundle.dir}/rootfs`));
  for (const cg of bundle.runtime.cgroups) step(`cgroup ${cg}: `, () => mkdirp(`/sys/fs/cgroup/${cg.replace(/^\/+/, '')}`));
}

export type Run = Child & { drain: () => void };

/**
 * Starts the bundle's container with its output going to `sink`. Usually
 * `lk-run run --bundle DIR NAME`; a bundle whose runtime.json asks for
 * interfaces or bindNS is created, prepared and then started.
 */
export async function launch(bundle: Bundle, sink: LogSink): Promise<Run> {
  prepare(bundle);
  if (needsStagedStart(bundle.runtime)) return launchStaged(bundle, sink);
  const { writeFd, drain } = sink.open();
  try {
    const child = spawn([LK_RUN, 'run', '--bundle', bundle.dir, bundle.name], { stdout: writeFd, stderr: writeFd });
    return { ...child, drain };
  } finally {
    os.close(writeFd);
  }
}

async function lkRun(args: string[], out: number): Promise<number> {
  return spawn([LK_RUN, ...args], { stdout: out, stderr: out }).exit;
}

/** What LinuxKit does between creating and starting a container: interfaces, then bindNS. */
function prepareCreated(bundle: Bundle, pid: number): void {
  for (const step of interfaceSteps(bundle.runtime.interfaces, pid)) {
    if (step.op === 'add') lk.linkAdd(step.name, step.kind, step.peer ?? null);
    else lk.linkSetNs(step.name, step.pid, step.newName);
  }
  for (const { source, target } of bindSteps(bundle.runtime.bindNS, pid)) {
    const dir = target.slice(0, target.lastIndexOf('/'));
    if (dir) mkdirp(dir);
    if (!exists(target)) writeText(target, '');
    try {
      lk.umount(target, lk.MNT_DETACH); // the namespace of an earlier run
    } catch {
      // not mounted
    }
    lk.mount(source, target, null, lk.MS_BIND, null);
  }
}

async function launchStaged(bundle: Bundle, sink: LogSink): Promise<Run> {
  const { writeFd, drain } = sink.open();
  const name = bundle.name;
  try {
    if (isDir(`${LK_RUN_STATE}/${name}`)) await lkRun(['delete', '--force', name], writeFd); // left by an earlier run
    mkdirp(PID_FILES);
    const pidFile = `${PID_FILES}/${name}.pid`;
    const create = spawn([LK_RUN, 'create', '--bundle', bundle.dir, '--pid-file', pidFile, name], { stdout: writeFd, stderr: writeFd });
    const created = await create.exit;
    const pid = created === 0 ? Number((readText(pidFile) ?? '').trim()) : 0;
    if (!(pid > 0)) return { pid: create.pid, exit: Promise.resolve(created === 0 ? 125 : created), drain };
    // The container process was create's child; it is ours now.
    const exit = adopt(pid).then(async (code) => {
      await lkRun(['delete', '--force', name], CONSOLE_FD); // silent unless it fails
      return code;
    });
    try {
      prepareCreated(bundle, pid);
    } catch (e) {
      log(`lk-init: ${name}: ${errorMessage(e)}`);
      try {
        lk.kill(pid, lk.SIGKILL);
      } catch {
        // already gone
      }
      return { pid, exit: exit.then(() => 125), drain };
    }
    const started = await lkRun(['start', name], writeFd);
    if (started !== 0) {
      try {
        lk.kill(pid, lk.SIGKILL);
      } catch {
        // already gone
      }
    }
    return { pid, exit, drain };
  } finally {
    os.close(writeFd);
  }
}
