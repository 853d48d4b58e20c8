import { describe, expect, it } from 'vitest';
import { MS, planMount } from '../src/mountopts.js';

describe('planMount', () => {
  it('maps flag options and passes the rest as data', () => {
    expect(planMount({ type: 'tmpfs', source: 'tmpfs', destination: '/var/lib/x', options: ['nosuid', 'nodev', 'size=10m', 'mode=755'] })).toEqual({
      source: 'tmpfs',
      target: '/var/lib/x',
      fstype: 'tmpfs',
      flags: MS.NOSUID | MS.NODEV,
      data: 'size=10m,mode=755',
      remountReadOnly: false,
      propagation: 0,
    });
  });

  it('plans a read-only recursive bind with propagation', () => {
    const p = planMount({ type: 'bind', source: '/lib/modules', destination: '/lib/modules', options: ['rbind', 'ro', 'rshared'] });
    expect(p.fstype).toBeNull();
    expect(p.flags).toBe(MS.BIND | MS.REC | MS.RDONLY);
    expect(p.remountReadOnly).toBe(true);
    expect(p.propagation).toBe(MS.SHARED | MS.REC);
  });

  it('lets later options win', () => {
    expect(planMount({ type: 'ext4', source: '/dev/sda1', destination: '/data', options: ['ro', 'rw', 'noexec', 'exec'] }).flags).toBe(0);
  });

  it('rejects relative destinations and malformed options', () => {
    expect(() => planMount({ destination: 'data' })).toThrow(/absolute path/);
    expect(() => planMount({ destination: '/data', options: 'ro' })).toThrow(/list of strings/);
  });
});
