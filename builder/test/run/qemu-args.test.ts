import { describe, expect, test } from 'vitest';
import { qemuArgs } from '../../src/run/qemu.js';

describe('QEMU command line', () => {
  const base = { base: '/out/node', cmdline: 'console=ttyS0\n' };

  test('TCG with a portable CPU model when KVM is not usable', () => {
    const { args } = qemuArgs({ ...base, kvmUsable: false });
    expect(args.join(' ')).toContain('-accel tcg -cpu max');
    expect(args).toContain('-no-reboot');
    expect(args.slice(args.indexOf('-kernel'), args.indexOf('-kernel') + 4)).toEqual(['-kernel', '/out/node-kernel', '-initrd', '/out/node-initrd.img']);
  });

  test('KVM when usable; the extra command line is appended to the built one', () => {
    const { args } = qemuArgs({ ...base, kvmUsable: true, append: 'lk.poweroff=ready' });
    expect(args.join(' ')).toContain('-accel kvm -cpu host');
    expect(args[args.indexOf('-append') + 1]).toBe('console=ttyS0 lk.poweroff=ready');
  });

  test('an explicit --accel tcg wins over a usable KVM', () => {
    expect(qemuArgs({ ...base, kvmUsable: true, accel: 'tcg' }).args.join(' ')).toContain('-accel tcg');
  });
});
