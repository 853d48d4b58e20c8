import { describe, expect, it } from 'vitest';
import { MS, planMount } from '../src/mountopts.js';

describe('planMount', () => {
  it('maps flag options and passes the rest as data', () => {
    expect(
      planMount(
        { type: 'tmpfs', source: 'tmpfs', destination: '/var/lib/x', options: ['nosuid', 'nodev', 'size=10m', 'mode=755'] },
        '/b/rootfs',
      ),
    ).toEqual({
      source: 'tmpfs',
      target: '/var/lib/x',
      fstype: 'tmpfs',
      flags: MS.NOSUID | MS.NODEV,
      data: 'size=10m,mode=755',
      remountReadOnly: false,
      propagation: 0,
      mkdirs: [],
    });
  });

  it('plans a read-only recursive bind with propagation', () => {
    const p = planMount(
      { type: 'bind', source: '/lib/modules', destination: '/lib/modules', options: ['rbind', 'ro', 'rshared'] },
      '/b/rootfs',
    );
    expect(p.fstype).toBeNull();
    expect(p.flags).toBe(MS.BIND | MS.REC | MS.RDONLY);
    expect(p.remountReadOnly).toBe(true);
    expect(p.propagation).toBe(MS.SHARED | MS.REC);
  });

  it('lets later options win', () => {
    expect(
      planMount({ type: 'ext4', source: '/dev/sda1', destination: '/data', options: ['ro', 'rw', 'noexec', 'exec'] }, '/b/rootfs').flags,
    ).toBe(0);
  });

  it("resolves a relative destination inside the container's rootfs, as LinuxKit does", () => {
    expect(planMount({ type: 'tmpfs', destination: 'var/cache' }, '/b/rootfs').target).toBe('/b/rootfs/var/cache');
    expect(planMount({ type: 'tmpfs', destination: './etc/' }, '/b/rootfs').target).toBe('/b/rootfs/etc');
    expect(() => planMount({ type: 'tmpfs', destination: 'etc/../../x' }, '/b/rootfs')).toThrow(/leaves the container's rootfs/);
  });

  it("creates an overlay's upperdir and workdir first", () => {
    const p = planMount(
      { type: 'overlay', source: 'overlay', destination: 'etc', options: ['lowerdir=/etc', 'upperdir=/run/o/up', 'workdir=/run/o/work'] },
      '/b/rootfs',
    );
    expect(p.mkdirs).toEqual(['/run/o/up', '/run/o/work']);
    expect(p.data).toBe('lowerdir=/etc,upperdir=/run/o/up,workdir=/run/o/work');
  });

  it('rejects missing destinations and malformed options', () => {
    expect(() => planMount({}, '/b/rootfs')).toThrow(/must be a path/);
    expect(() => planMount({ destination: '/data', options: 'ro' }, '/b/rootfs')).toThrow(/list of strings/);
  });
});
