import { describe, expect, test } from 'vitest';
import { defaultStateDir, nodeName } from '../../src/run/node.js';
import { bootTarget, qemuArgs, resolveFirmware } from '../../src/run/qemu.js';

describe('QEMU command line', () => {
  const base = { base: '/out/node', cmdline: 'console=ttyS0\n' };

  test('TCG with a portable CPU model when KVM is not usable', () => {
    const { args } = qemuArgs({ ...base, kvmUsable: false });
    expect(args.join(' ')).toContain('-accel tcg -cpu max');
    expect(args).toContain('-no-reboot');
    expect(args.slice(args.indexOf('-kernel'), args.indexOf('-kernel') + 4)).toEqual([
      '-kernel',
      '/out/node-kernel',
      '-initrd',
      '/out/node-initrd.img',
    ]);
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
    '-drive',
    'if=pflash,format=raw,unit=0,readonly=on,file=/fw/CODE.fd',
    '-drive',
    'if=pflash,format=raw,unit=1,snapshot=on,file=/fw/VARS.fd',
  ];
  const argsFrom = (a: string[], flag: string, n: number) => a.slice(a.indexOf(flag), a.indexOf(flag) + n);

  test('the target is told by the formats table', () => {
    expect(bootTarget('/out/node')).toEqual({ kind: 'kernel+initrd', base: '/out/node' });
    expect(bootTarget('/out/node.v1')).toEqual({ kind: 'kernel+initrd', base: '/out/node.v1' });
    expect(bootTarget('/out/node-kernel')).toEqual({ kind: 'kernel+initrd', base: '/out/node' });
    expect(bootTarget('/out/node-initrd.img')).toEqual({ kind: 'kernel+initrd', base: '/out/node' });
    expect(bootTarget('/out/node.efi')).toEqual({ kind: 'uki', path: '/out/node.efi', output: 'uki' });
    expect(bootTarget('/out/node-efi.img')).toEqual({
      kind: 'disk',
      path: '/out/node-efi.img',
      format: 'raw',
      firmware: 'efi',
      output: 'raw-efi',
    });
    expect(bootTarget('/out/node-bios.img')).toEqual({
      kind: 'disk',
      path: '/out/node-bios.img',
      format: 'raw',
      firmware: 'bios',
      output: 'raw-bios',
    });
    expect(bootTarget('/out/node.raw')).toEqual({ kind: 'disk', path: '/out/node.raw', format: 'raw', firmware: 'efi', output: 'aws' }); // also boots with --bios
    expect(bootTarget('/out/node.qcow2')).toMatchObject({ kind: 'disk', format: 'qcow2', firmware: 'efi' });
    expect(bootTarget('/out/node.vmdk')).toMatchObject({ kind: 'disk', format: 'vmdk', firmware: 'efi' });
    expect(bootTarget('/out/node.VHD')).toMatchObject({ kind: 'disk', format: 'vpc', firmware: 'efi' });
    expect(bootTarget('/out/node-efi.iso')).toEqual({ kind: 'cdrom', path: '/out/node-efi.iso', firmware: 'efi', output: 'iso-efi' });
    expect(bootTarget('/out/node.iso')).toEqual({ kind: 'cdrom', path: '/out/node.iso', firmware: 'bios', output: 'iso-bios' });
    expect(() => bootTarget('/out/node.img.tar.gz')).toThrow(/the gcp output, an archive that QEMU cannot boot/);
    expect(() => bootTarget('/out/node.tar')).toThrow(/the tar output/);
  });

  test('the default state directory is beside the build, named after it', () => {
    expect(defaultStateDir('/out/node')).toBe('/out/node-state');
    expect(defaultStateDir('/out/node-efi.img')).toBe('/out/node-state');
    expect(defaultStateDir('/out/node.qcow2')).toBe('/out/node-state');
    expect(nodeName('/out/web.efi')).toBe('web');
  });

  test('kernel+initrd boots without firmware flash', () => {
    expect(args('/out/node')).not.toContain('if=pflash');
    expect(args('/out/node').join(' ')).not.toContain('pflash');
  });

  test('UKI: OVMF from flash (variables as a snapshot), -kernel name.efi, its own command line', () => {
    const a = args('/out/node.efi');
    expect(argsFrom(a, '-drive', 4)).toEqual(firmware);
    expect(argsFrom(a, '-kernel', 2)).toEqual(['-kernel', '/out/node.efi']);
    expect(a).not.toContain('-initrd');
    expect(a).not.toContain('-append');
  });

  test('UKI with --append: the built-in command line plus the extra one replaces it', () => {
    const a = args('/out/node.efi', { cmdline: 'console=ttyS0 quiet', append: 'lk.poweroff=ready' });
    expect(a[a.indexOf('-append') + 1]).toBe('console=ttyS0 quiet lk.poweroff=ready');
  });

  test('disks: virtio with the format named and snapshot=on; commas in file names doubled', () => {
    expect(argsFrom(args('/out/node-efi.img'), '-drive', 6)).toEqual([
      ...firmware,
      '-drive',
      'if=virtio,format=raw,snapshot=on,file=/out/node-efi.img',
    ]);
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
    expect(argsFrom(a, '-boot', 2)).toEqual(['-boot', 'order=d']);
    expect(a).toContain('media=cdrom,format=raw,readonly=on,file=/out/node-efi.iso');
  });

  test('a disk cannot take an extra command line: refused with a hint', () => {
    expect(() => args('/out/node.qcow2', { append: 'lk.poweroff=ready' })).toThrow(/boots with the command line it was built with/);
    expect(args('/out/node.qcow2', { append: '  ' })).not.toContain('-append');
  });
});

describe('firmware and machine', () => {
  const t = bootTarget;
  test('--uefi and --bios override the file name; a UKI needs UEFI', () => {
    expect(resolveFirmware(t('/o/n'), {})).toBe('direct');
    expect(resolveFirmware(t('/o/n'), { firmware: 'uefi' })).toBe('efi');
    expect(resolveFirmware(t('/o/n-bios.img'), {})).toBe('bios');
    expect(resolveFirmware(t('/o/n-bios.img'), { firmware: 'uefi' })).toBe('efi');
    expect(resolveFirmware(t('/o/n.qcow2'), { firmware: 'bios' })).toBe('bios');
    expect(resolveFirmware(t('/o/n.iso'), {})).toBe('bios');
    expect(() => resolveFirmware(t('/o/n.efi'), { firmware: 'bios' })).toThrow(/^--bios: .*only with UEFI/);
  });

  test('--secure-boot needs UEFI: a BIOS image or --bios is a usage error', () => {
    expect(resolveFirmware(t('/o/n.efi'), { secureBoot: {} })).toBe('efi');
    expect(resolveFirmware(t('/o/n'), { secureBoot: {} })).toBe('efi');
    expect(() => resolveFirmware(t('/o/n-bios.img'), { secureBoot: {} })).toThrow(/^--secure-boot: \/o\/n-bios.img boots with BIOS/);
    expect(() => resolveFirmware(t('/o/n.iso'), { secureBoot: {} })).toThrow(/^--secure-boot/);
    expect(() => resolveFirmware(t('/o/n.qcow2'), { secureBoot: {}, firmware: 'bios' })).toThrow(/^--secure-boot/);
  });

  test('Secure Boot: the secboot OVMF, the snakeoil store (or the one given), SMM and secure flash', () => {
    const a = qemuArgs({ base: '/o/n.efi', cmdline: '', kvmUsable: false, target: t('/o/n.efi'), secureBoot: {} }).args.join(' ');
    expect(a).toContain('-machine q35,smm=on -global driver=cfi.pflash01,property=secure,value=on');
    expect(a).toContain('file=/usr/share/OVMF/OVMF_CODE_4M.secboot.fd');
    expect(a).toContain('snapshot=on,file=/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd');
    const own = qemuArgs({
      base: '/o/n.efi',
      cmdline: '',
      kvmUsable: false,
      target: t('/o/n.efi'),
      secureBoot: { vars: '/k/VARS.fd' },
    }).args.join(' ');
    expect(own).toContain('snapshot=on,file=/k/VARS.fd');
    // systemd's stub ignores -append under Secure Boot: refused rather than silently dropped.
    expect(() =>
      qemuArgs({ base: '/o/n.efi', cmdline: 'x', append: 'y', kvmUsable: false, target: t('/o/n.efi'), secureBoot: {} }),
    ).toThrow(/^--append: systemd's stub ignores/);
  });

  test('microvm: direct kernel boot with virtio-mmio devices, nothing but kernel+initrd', () => {
    const a = qemuArgs({ base: '/o/n', cmdline: 'console=ttyS0', kvmUsable: false, machine: 'microvm' }).args;
    expect(a.slice(0, 2)).toEqual(['-machine', 'microvm,x-option-roms=off,isa-serial=on,rtc=on']);
    expect(a).toContain('virtio-rng-device');
    expect(a.join(' ')).not.toMatch(/pci|pflash/);
    expect(() => resolveFirmware(t('/o/n.efi'), { machine: 'microvm' })).toThrow(
      /^--machine: microvm boots a kernel\+initrd build directly/,
    );
    expect(() => resolveFirmware(t('/o/n'), { machine: 'microvm', firmware: 'uefi' })).toThrow(/^--uefi: microvm has no firmware/);
  });

  test('the console is logged; QMP and the pid file are where the state says; detached writes a file', () => {
    const control = { qmpSocket: '/s/qmp.sock', pidFile: '/s/qemu.pid' };
    const fg = qemuArgs({ base: '/o/n', cmdline: '', kvmUsable: false, console: 'stdio', consoleLog: '/s/console.log', control }).args.join(
      ' ',
    );
    expect(fg).toContain('-chardev stdio,id=console,signal=off,logfile=/s/console.log -serial chardev:console -monitor none');
    expect(fg).toContain('-qmp unix:/s/qmp.sock,server=on,wait=off -pidfile /s/qemu.pid');
    // run qemu captures it through FIFOs (console-pipe.ts); a comma in the path is written twice.
    const piped = qemuArgs({
      base: '/o/n',
      cmdline: '',
      kvmUsable: false,
      console: 'stdio',
      consoleLog: '/s/console.log',
      consolePipe: '/s,t/console',
    });
    expect(piped.args.join(' ')).toContain(
      '-chardev pipe,id=console,path=/s,,t/console,logfile=/s/console.log -serial chardev:console -monitor none',
    );
    const tty = qemuArgs({ base: '/o/n', cmdline: '', kvmUsable: false, console: 'interactive', consoleLog: '/s/console.log' }).args.join(
      ' ',
    );
    expect(tty).toContain(
      '-chardev stdio,id=console,mux=on,signal=on,logfile=/s/console.log -serial chardev:console -mon chardev=console,mode=readline',
    );
    const bg = qemuArgs({ base: '/o/n', cmdline: '', kvmUsable: false, console: 'file', consoleLog: '/s/console.log' }).args.join(' ');
    expect(bg).toContain('-chardev file,id=console,path=/s/console.log -serial chardev:console -monitor none');
    expect(fg).toContain('-device pvpanic-pci -action panic=exit-failure');
  });
});
