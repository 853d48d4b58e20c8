import { beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, markers, type BootResult } from './harness.js';

/** The "lkt <check> key=value ... [err=<text>]" lines the case's onboot containers print, by check name. */
function results(output: string): Map<string, { fields: Record<string, string>; line: string }> {
  const found = new Map<string, { fields: Record<string, string>; line: string }>();
  for (const line of output.split('\n')) {
    const m = /\blkt ([\w-]+)((?: \S+=\S*)*?)(?: err=(.*))?$/.exec(line.trimEnd());
    if (!m) continue;
    const fields: Record<string, string> = {};
    for (const kv of m[2].trim().split(' ').filter(Boolean)) {
      const i = kv.indexOf('=');
      fields[kv.slice(0, i)] = kv.slice(i + 1);
    }
    if (m[3] !== undefined) fields.err = m[3];
    found.set(m[1], { fields, line });
  }
  return found;
}

// Capability bits in /proc/<pid>/status: CAP_CHOWN 0, CAP_SETGID 6, CAP_SETUID 7, CAP_NET_ADMIN 12.
const capMask = (...bits: number[]) =>
  bits
    .reduce((m, b) => m | (1n << BigInt(b)), 0n)
    .toString(16)
    .padStart(16, '0');

describe('lk-run in the guest: capabilities, seccomp, read-only root, masked paths, namespaces, cgroups', () => {
  let result: BootResult;
  let lkt: ReturnType<typeof results>;
  const check = (name: string): Record<string, string> => {
    const r = lkt.get(name);
    expect(r, `no "lkt ${name}" line in the console output:\n${result.output}`).toBeDefined();
    return r!.fields;
  };

  beforeAll(async () => {
    const base = await buildCase('launcher');
    result = await boot(base, { timeoutMs: 300_000 });
    lkt = results(result.output);
  });

  test('every check container runs and exits 0, and the node reaches ready and powers off', () => {
    expect(result.timedOut, result.output).toBe(false);
    expect(result.exitCode).toBe(0);
    const onboot = markers(result.output).filter((m) => m.event === 'onboot');
    expect(onboot.map((m) => [m.name, m.fields.exit])).toEqual(
      [
        'cap-dropped',
        'cap-kept',
        'seccomp-custom',
        'seccomp-default',
        'seccomp-none',
        'seccomp-sysadmin',
        'readonly',
        'masked',
        'netns-a',
        'netns-b',
        'netns-host',
        'limits',
        'oom',
        'after-oom',
        'devices',
        'verbs',
      ].map((n) => [n, '0']),
    );
    expect(markers(result.output).map((m) => m.event)).toContain('ready');
  });

  test('a dropped capability: its syscall is refused; a kept one works', () => {
    const dropped = check('cap-dropped');
    expect(dropped.capeff).toBe(capMask(6, 7));
    expect(dropped.capbnd).toBe(capMask(6, 7));
    expect(dropped['chown-rc']).toBe('1');
    expect(dropped.err).toContain('Operation not permitted');
    const kept = check('cap-kept');
    expect(kept.capeff).toBe(capMask(0));
    expect(kept['chown-rc']).toBe('0');
    expect(kept.owner).toBe('1:1');
  });

  test('an OCI seccomp object: the denied syscall fails with EPERM, others work', () => {
    const r = check('seccomp-custom');
    expect(r.mode).toBe('2');
    expect(r['mkdir-rc']).toBe('1');
    expect(r.err).toContain('Operation not permitted');
    expect(r['touch-rc']).toBe('0');
  });

  test("seccomp: default (Docker's profile) refuses unshare without CAP_SYS_ADMIN, allows it with", () => {
    const def = check('seccomp-default');
    expect(def.mode).toBe('2');
    expect(def['unshare-rc']).toBe('1');
    expect(def.err).toContain('Operation not permitted');
    expect(def.ordinary).toBe('1');
    // The same call without a profile succeeds: the refusal above is the profile's.
    const none = check('seccomp-none');
    expect(none.mode).toBe('0');
    expect(none['unshare-rc']).toBe('0');
    const admin = check('seccomp-sysadmin');
    expect(admin.mode).toBe('2');
    expect(admin['unshare-user-rc']).toBe('0');
    expect(admin['unshare-mount-rc']).toBe('0');
    expect(admin['mount-rc']).toBe('0');
  });

  test('a read-only root refuses writes, its /dev too (with its nodes in place); a tmpfs on it does not', () => {
    const r = check('readonly');
    expect(r['root-rc']).toBe('1');
    expect(r.err).toContain('Read-only file system');
    expect(r['dev-rc']).toBe('1');
    expect(r['dev-null']).toBe('writable');
    expect(r['tmp-rc']).toBe('0');
  });

  test('masked paths read as empty while their neighbours do not', () => {
    const r = check('masked');
    expect(r['cmdline-bytes']).toBe('0');
    expect(r['sys-kernel-entries']).toBe('0');
    expect(Number(r['version-bytes'])).toBeGreaterThan(20);
    expect(Number(r['sys-class-entries'])).toBeGreaterThan(3);
  });

  test("a container joins another container's network namespace by path", () => {
    const a = check('netns-a');
    const b = check('netns-b');
    const host = check('netns-host');
    expect(a.rc).toBe('0');
    // netns-a holds CAP_NET_ADMIN (12) only: the pin on /run/netns/lkt is the init's (bindNS).
    expect(a.capeff).toBe(capMask(12));
    expect(a.ns).toMatch(/^net:\[\d+\]$/);
    expect(b.ns).toBe(a.ns);
    expect(host.ns).not.toBe(a.ns);
    // lo's MTU, set in netns-a, is what netns-b sees; the host's lo is untouched.
    expect(a['lo-mtu']).toBe('1234');
    expect(b['lo-mtu']).toBe('1234');
    expect(host['lo-mtu']).toBe('65536');
  });

  test('cgroup v2 resources are applied at the cgroupsPath', () => {
    const r = check('limits');
    expect(r.path).toBe('/lkt/limits');
    expect(r['memory.max']).toBe('33554432');
    expect(r['memory.low']).toBe('16777216');
    expect(r['memory.high']).toBe('29360128');
    expect(r['pids.max']).toBe('64');
    expect(r['cpu.max']).toBe('50000/100000');
    expect(r['cpu.max.burst']).toBe('10000');
    // shares 512 -> weight ceil(10^((81 + 125 * 9) / 612 - 7/34)) = 59, runc's map (log2 512 = 9).
    expect(r['cpu.weight']).toBe('59');
    expect(r['cpuset.cpus']).toBe('0');
    expect(r['cpuset.mems']).toBe('0');
  });

  test("update, pause, resume, ps and delete on a nested container's cgroup", () => {
    const r = check('verbs');
    expect(r.err).toBe('');
    // The last update asks for 4 KiB with checkBeforeUpdate: below the usage, refused, unchanged.
    expect(r['memory.max']).toBe('33554432,67108864,50331648,50331648');
    expect(r['check-before-update-rc']).toBe('1');
    expect(r['pids.max']).toBe('20,40,30');
    expect(r['update-rc']).toBe('0,0');
    expect(r.frozen).toBe('1,0');
    expect(r.status).toBe('paused,running');
    // ps lists what the cgroup holds: the nested shell and its two sleeps.
    expect(r.ps).toMatch(/^(\d+,){3}$/);
    expect(r.ps).toBe(r.procs);
    expect(r['delete-rc']).toBe('0');
    expect(r.gone).toBe('yes');
  });

  test('the cgroup device filter: a node for a device outside the default list cannot be opened', () => {
    const r = check('devices');
    expect(r['mknod-rc']).toBe('0');
    expect(r['kmsg-rc']).toBe('1');
    expect(r.err).toContain('Operation not permitted');
    expect(r['null-rc']).toBe('0');
  });

  test('a memory limit OOM-kills the process inside its cgroup only; the node carries on', () => {
    const r = check('oom');
    expect(r['dd-status']).toBe('137');
    expect(r.path).toBe('/onboot/oom');
    expect(r['memory.max']).toBe('16777216');
    expect(Number(r.oom_kill)).toBeGreaterThanOrEqual(1);
    // The kernel names the memory cgroup as the constraint, and dd as the victim.
    expect(result.output).toMatch(/oom-kill:constraint=CONSTRAINT_MEMCG,.*oom_memcg=\/onboot\/oom,/);
    expect(result.output).toMatch(/Memory cgroup out of memory: Killed process \d+ \(dd\)/);
    expect(check('after-oom').alive).toBe('yes');
  });
});
