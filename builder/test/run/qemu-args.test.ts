import { describe, expect, test } from 'vitest';
import { bootTarget, qemuArgs } from '../../src/run/qemu.js';

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

describe('QEMU command line for the EFI formats', () => {
  const ovmf = { code: '/fw/CODE.fd', vars: '/fw/VARS.fd' };
  const args = (path: string, extra: { append?: string; cmdline?: string } = {}) =>
    qemuArgs({ base: path, cmdline: extra.cmdline ?? '', append: extra.append, kvmUsable: false, target: bootTarget(path), ovmf }).args;
  const firmware = [
    '-drive', 'if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd',
    '-drive', 'if=pflash,format=raw,unit=1,snapshot=on,file=/fw/VARS.fd',
  ];
  const after = (a: string[], flag: string, n: number) => a.slice(a.indexOf(flag), a.indexOf(flag) + n);

  test('the target is told by the extension', () => {
    expect(bootTarget('/out/node')).toEqual({ kind: 'kernel+initrd', base: '/out/node' });
    expect(bootTarget('/out/node.v1')).toEqual({ kind: 'kernel+initrd', base: '/out/node.v1' });
    expect(bootTarget('/out/node.efi')).toEqual({ kind: 'uki', path: '/out/node.efi' });
    expect(bootTarget('/out/node-efi.img')).toEqual({ kind: 'disk', path: '/out/node-efi.img', format: 'raw', firmware: 'efi' });
    expect(bootTarget('/out/node-bios.img')).toEqual({ kind: 'disk', path: '/out/node-bios.img', format: 'raw', firmware: 'bios' });
    expect(bootTarget('/out/node.raw')).toEqual({ kind: 'disk', path: '/out/node.raw', format: 'raw', firmware: 'efi' }); // aws: also boots with SeaBIOS
    expect(bootTarget('/out/node.qcow2')).toMatchObject({ kind: 'disk', format: 'qcow2', firmware: 'efi' });
    expect(bootTarget('/out/node.vmdk')).toMatchObject({ kind: 'disk', format: 'vmdk', firmware: 'efi' });
    expect(bootTarget('/out/node.VHD')).toMatchObject({ kind: 'disk', format: 'vpc', firmware: 'efi' });
    expect(bootTarget('/out/node-efi.iso')).toEqual({ kind: 'cdrom', path: '/out/node-efi.iso', firmware: 'efi' });
    expect(bootTarget('/out/node.iso')).toEqual({ kind: 'cdrom', path: '/out/node.iso', firmware: 'bios' });
  });

  test('kernel+initrd boots without firmware flash', () => {
    expect(args('/out/node')).not.toContain('if=pflash');
    expect(args('/out/node').join(' ')).not.toContain('pflash');
  });

  test('UKI: OVMF from flash (variables as a snapshot), -kernel name.efi, its own command line', () => {
    const a = args('/out/node.efi');
    expect(after(a, '-drive', 4)).toEqual(firmware);
    expect(after(a, '-kernel', 2)).toEqual(['-kernel', '/out/node.efi']);
    expect(a).not.toContain('-initrd');
    expect(a).not.toContain('-append');
  });

  test('UKI with --append: the built-in command line plus the extra one replaces it', () => {
    const a = args('/out/node.efi', { cmdline: 'console=ttyS0 quiet', append: 'lk.poweroff=ready' });
    expect(a[a.indexOf('-append') + 1]).toBe('console=ttyS0 quiet lk.poweroff=ready');
  });

  test('disks: virtio with the format named and snapshot=on; commas in file names doubled', () => {
    expect(after(args('/out/node-efi.img'), '-drive', 6)).toEqual([...firmware, '-drive', 'if=virtio,format=raw,snapshot=on,file=/out/node-efi.img']);
    expect(args('/out/node.qcow2')).toContain('if=virtio,format=qcow2,snapshot=on,file=/out/node.qcow2');
    expect(args('/out/node.vmdk')).toContain('if=virtio,format=vmdk,snapshot=on,file=/out/node.vmdk');
    expect(args('/out/node.vhd')).toContain('if=virtio,format=vpc,snapshot=on,file=/out/node.vhd');
    expect(args('/out/a,b.qcow2')).toContain('if=virtio,format=qcow2,snapshot=on,file=/out/a,,b.qcow2');
    expect(args('/out/node.qcow2')).not.toContain('-kernel');
    expect(args('/out/node-bios.img').join(' ')).not.toContain('pflash');
  });

  test('ISOs boot as a CD-ROM', () => {
    const a = args('/out/node-efi.iso');
    expect(a.join(' ')).toContain('if=pflash');
    expect(after(a, '-boot', 2)).toEqual(['-boot', 'order=d']);
    expect(a).toContain('media=cdrom,format=raw,readonly=on,file=/out/node-efi.iso');
  });

  test('a disk cannot take an extra command line: refused with a hint', () => {
    expect(() => args('/out/node.qcow2', { append: 'lk.poweroff=ready' })).toThrow(/boots with the command line it was built with/);
    expect(args('/out/node.qcow2', { append: '  ' })).not.toContain('-append');
  });
});
