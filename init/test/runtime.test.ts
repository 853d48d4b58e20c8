import { describe, expect, it } from 'vitest';
import { bindSteps, bundleName, interfaceSteps, needsStagedStart, parseRuntime } from '../src/runtime.js';

describe('parseRuntime', () => {
  it('reads restart, depends, mkdir and cgroups', () => {
    const { spec, problems } = parseRuntime(
      JSON.stringify({ restart: 'on-failure', depends: ['db'], mkdir: ['/var/lib/x'], cgroups: ['systemreserved'], interfaces: [] }),
      'always',
    );
    expect(problems).toEqual([]);
    expect(spec).toEqual({
      restart: 'on-failure',
      depends: ['db'],
      mkdir: ['/var/lib/x'],
      cgroups: ['systemreserved'],
      mounts: [],
      interfaces: [],
      bindNS: {},
    });
  });

  it('uses defaults for a missing or empty file', () => {
    expect(parseRuntime(null, 'always').spec).toEqual({
      restart: 'always',
      depends: [],
      mkdir: [],
      cgroups: [],
      mounts: [],
      interfaces: [],
      bindNS: {},
    });
    expect(parseRuntime('  ', 'never').spec.restart).toBe('never');
  });

  it('reports invalid fields and keeps defaults', () => {
    const { spec, problems } = parseRuntime('{"restart":"sometimes","depends":"db"}', 'always');
    expect(spec.restart).toBe('always');
    expect(spec.depends).toEqual([]);
    expect(problems).toEqual(['restart must be one of always, on-failure, never', 'depends must be a list of strings']);
  });

  it('keeps mount objects and rejects other values', () => {
    const m = { type: 'bind', source: '/a', destination: '/b' };
    expect(parseRuntime(JSON.stringify({ mounts: [m] }), 'always').spec.mounts).toEqual([m]);
    expect(parseRuntime('{"mounts":["/a"]}', 'always').problems).toEqual(['mounts must be a list of mount objects']);
  });

  it('reports broken JSON', () => {
    const { problems } = parseRuntime('{', 'always');
    expect(problems[0]).toMatch(/^runtime.json is not valid JSON/);
  });
});

describe('bundleName', () => {
  it('strips the ordering prefix', () => {
    expect(bundleName('000-hello')).toBe('hello');
    expect(bundleName('012-rng-tools')).toBe('rng-tools');
    expect(bundleName('sshd')).toBe('sshd');
  });
});

describe('interfaces and bindNS', () => {
  it('parses interfaces as LinuxKit does: a peer implies veth', () => {
    const { spec, problems } = parseRuntime(
      JSON.stringify({
        interfaces: [{ name: 'eth1', peer: 'veth-x' }, { name: 'dummy0', add: 'dummy', createInRoot: false }, { name: 'eth2' }],
      }),
      'always',
    );
    expect(problems).toEqual([]);
    expect(spec.interfaces).toEqual([{ name: 'eth1', add: 'veth', peer: 'veth-x' }, { name: 'dummy0', add: 'dummy' }, { name: 'eth2' }]);
    expect(needsStagedStart(spec)).toBe(true);
  });

  it('reports broken interfaces and drops them', () => {
    const { spec, problems } = parseRuntime(
      JSON.stringify({ interfaces: [{ add: 'veth' }, { name: 'eth1', add: 'veth' }, { name: 'a-name-that-is-too-long' }, 'eth0'] }),
      'always',
    );
    expect(spec.interfaces).toEqual([]);
    expect(problems).toEqual([
      'interfaces[0].name must be an interface name of 1-15 characters',
      'interfaces[1]: a veth pair needs a peer',
      'interfaces[2].name must be an interface name of 1-15 characters',
      'interfaces[3] must be an object',
    ]);
  });

  it('parses bindNS and rejects unknown namespaces and relative paths', () => {
    const { spec, problems } = parseRuntime(JSON.stringify({ bindNS: { net: '/run/netns/x', uts: 'rel', time: '/t' } }), 'always');
    expect(spec.bindNS).toEqual({ net: '/run/netns/x' });
    expect(problems).toEqual([
      'bindNS.uts must be an absolute path',
      'bindNS.time: unknown namespace (expected one of cgroup, ipc, mnt, net, pid, user, uts)',
    ]);
    expect(needsStagedStart(spec)).toBe(true);
    expect(needsStagedStart(parseRuntime('{}', 'always').spec)).toBe(false);
  });

  it('plans veth pairs under a temporary name, moved and renamed into the container', () => {
    const { spec } = parseRuntime(
      JSON.stringify({ interfaces: [{ name: 'eth0', peer: 'vethhost' }, { name: 'dum', add: 'dummy' }, { name: 'eth9' }] }),
      'always',
    );
    expect(interfaceSteps(spec.interfaces, 1234567)).toEqual([
      { op: 'add', name: 'lk1234567i0', kind: 'veth', peer: 'vethhost' },
      { op: 'move', name: 'lk1234567i0', pid: 1234567, newName: 'eth0' },
      { op: 'add', name: 'lk1234567i1', kind: 'dummy' },
      { op: 'move', name: 'lk1234567i1', pid: 1234567, newName: 'dum' },
      { op: 'move', name: 'eth9', pid: 1234567, newName: 'eth9' },
    ]);
    // The longest pid (4194304) and index still fit IFNAMSIZ.
    expect(interfaceSteps([{ name: 'x', add: 'dummy' }], 4194304)[0]!.name.length).toBeLessThanOrEqual(15);
  });

  it('binds /proc/<pid>/ns files in a fixed order', () => {
    expect(bindSteps({ uts: '/run/uts/a', net: '/run/netns/a' }, 42)).toEqual([
      { source: '/proc/42/ns/net', target: '/run/netns/a' },
      { source: '/proc/42/ns/uts', target: '/run/uts/a' },
    ]);
  });
});
