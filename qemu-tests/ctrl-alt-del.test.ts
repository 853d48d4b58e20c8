// Boot test: ctrl-alt-del on the keyboard (QEMU's send-key over QMP) -> the kernel sends SIGINT to
// PID 1 (the init turned C-A-D off) -> onshutdown, services stopped, reboot(2) with RB_AUTOBOOT.
import { beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, markers, sendKey, type BootResult } from './harness.js';
import { serviceEvents, tagged } from './init-helpers.js';

describe('ctrl-alt-del boot test', () => {
  let result: BootResult;
  /** Where in the console output the keys were sent. */
  let sentAt: number;

  beforeAll(async () => {
    const base = await buildCase('ctrl-alt-del');
    // No lk.poweroff: nothing but the keys ends this boot (QEMU runs with -no-reboot).
    result = await boot(base, {
      append: 'lk.console-logs lk.shutdown-grace=4000',
      timeoutMs: 180_000,
      qmp: [sendKey(/^CAD armed\r?$/m, 'ctrl', 'alt', 'delete')],
    });
    sentAt = result.qmp![0]!.sentAt ?? -1;
  });

  test('the kernel has a keyboard, and QEMU accepted the keys once the node was up', () => {
    expect(result.timedOut, result.output).toBe(false);
    expect(result.exitCode).toBe(0);
    // Without an i8042 keyboard driver (CONFIG_SERIO_I8042, CONFIG_KEYBOARD_ATKBD) the keys
    // reach nothing and the kernel never calls ctrl_alt_del().
    expect(result.output, 'the guest kernel registered no PS/2 keyboard').toMatch(/input: AT Translated Set 2 keyboard as /);
    expect(tagged(result.output, 'CAD')).not.toContain('no shutdown 60s after the keys');
    expect(result.qmp![0]).toEqual({ execute: 'send-key', sentAt: expect.any(Number), reply: { return: {} } });
    expect(sentAt).toBeGreaterThan(result.output.indexOf('CAD armed'));
    expect(result.output.indexOf('lk-init: ready ')).toBeGreaterThan(0);
  });

  test('the init has turned C-A-D off: the kernel signals PID 1 instead of restarting', () => {
    // /proc/sys/kernel/ctrl-alt-del is 1 at boot; reboot(LINUX_REBOOT_CMD_CAD_OFF) makes it 0.
    expect(tagged(result.output, 'CAD')).toContain('sysctl=0');
  });

  test('the keys start an orderly shutdown: marker, onshutdown, services stopped, then the restart', () => {
    const out = result.output;
    const shutdown = markers(out).filter((m) => m.event === 'shutdown');
    expect(shutdown).toHaveLength(1);
    const shutdownAt = out.indexOf(shutdown[0]!.line);
    expect(shutdownAt).toBeGreaterThanOrEqual(sentAt);
    const onshutdown = out.indexOf('onshutdown-cad-marker');
    expect(onshutdown).toBeGreaterThan(shutdownAt);
    expect(out).toMatch(/lk-init: onshutdown bye exit=0 uptime=/);
    // onshutdown runs before the services get SIGTERM.
    expect(out.indexOf('armed-got-term')).toBeGreaterThan(onshutdown);
    expect(serviceEvents(out, 'armed', 'exited').map((e) => e.fields)).toEqual([{ code: '0', 'restart-in': 'never' }]);
    expect(out).not.toContain('did not stop within');
    // A reboot, not a power-off; and only after the init's shutdown (C-A-D on would restart
    // straight from the keyboard handler, with no marker and no onshutdown).
    const restart = out.indexOf('reboot: Restarting system');
    expect(restart).toBeGreaterThan(out.indexOf('lk-init: onshutdown bye exit=0'));
    expect(out).not.toContain('reboot: Power down');
  });
});
