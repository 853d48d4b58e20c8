// Starting one bundle through lk-run, with its runtime.json preparations.

import * as os from 'os';
import * as lk from 'lk';
import { spawn, type Child } from './children.js';
import type { LogSink } from './logs.js';
import { planMount, type OciMount } from './mountopts.js';
import { parseRuntime, type RestartPolicy, type RuntimeSpec } from './runtime.js';
import { listDir, log, mkdirp, readText } from './sys.js';

export const LK_RUN = '/usr/bin/lk-run';
export const CONTAINERS = '/containers';

export interface Bundle {
  /** Container id and log name (without the NNN- ordering prefix). */
  name: string;
  dir: string;
  runtime: RuntimeSpec;
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

function mountOnHost(m: OciMount): void {
  const plan = planMount(m);
  mkdirp(plan.target);
  lk.mount(plan.source, plan.target, plan.fstype, plan.flags, plan.data);
  if (plan.remountReadOnly) lk.mount(null, plan.target, null, plan.flags | lk.MS_REMOUNT, null);
  if (plan.propagation) lk.mount(null, plan.target, null, plan.propagation, null);
}

/** runtime.json's mkdir, mounts and cgroups, done by the init before the container starts. */
function prepare(bundle: Bundle): void {
  for (const dir of bundle.runtime.mkdir) {
    try {
      mkdirp(dir);
    } catch (e) {
      log(`lk-init: ${bundle.name}: ${(e as Error).message}`);
    }
  }
  for (const m of bundle.runtime.mounts) {
    try {
      mountOnHost(m as OciMount);
    } catch (e) {
      log(`lk-init: ${bundle.name}: ${(e as Error).message}`);
    }
  }
  for (const cg of bundle.runtime.cgroups) {
    try {
      mkdirp(`/sys/fs/cgroup/${cg.replace(/^\/+/, '')}`);
    } catch (e) {
      log(`lk-init: ${bundle.name}: cgroup ${cg}: ${(e as Error).message}`);
    }
  }
}

/** Starts `lk-run run --bundle DIR NAME` with its output going to `sink`. */
export function launch(bundle: Bundle, sink: LogSink): Child & { drain: () => void } {
  prepare(bundle);
  const { writeFd, drain } = sink.open();
  try {
    const child = spawn([LK_RUN, 'run', '--bundle', bundle.dir, bundle.name], { stdout: writeFd, stderr: writeFd });
    return { ...child, drain };
  } finally {
    os.close(writeFd);
  }
}
