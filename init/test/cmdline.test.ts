import { describe, expect, it } from 'vitest';
import { bootOptions, DEFAULT_SHUTDOWN_GRACE_MS, parseCmdline } from '../src/cmdline.js';

describe('parseCmdline', () => {
  it('splits keys, values and bare flags; later keys win', () => {
    const m = parseCmdline('console=ttyS0 quiet lk.debug console=tty0\n');
    expect([...m]).toEqual([
      ['console', 'tty0'],
      ['quiet', ''],
      ['lk.debug', ''],
    ]);
  });

  it('splits at any run of whitespace, with or without quotes elsewhere', () => {
    expect([...parseCmdline('\ta=1  b\t\tc=3 \n')]).toEqual([
      ['a', '1'],
      ['b', ''],
      ['c', '3'],
    ]);
    expect([...parseCmdline('\ta=1  b\t\tc="3 4" \n')]).toEqual([
      ['a', '1'],
      ['b', ''],
      ['c', '3 4'],
    ]);
    expect([...parseCmdline('')]).toEqual([]);
    expect([...parseCmdline(' \n')]).toEqual([]);
  });

  it('keeps quoted spaces and values containing =', () => {
    const m = parseCmdline('a="x y" b=c=d');
    expect(m.get('a')).toBe('x y');
    expect(m.get('b')).toBe('c=d');
  });
});

describe('bootOptions', () => {
  it('reads the lk.* options', () => {
    expect(bootOptions('console=ttyS0 lk.poweroff=ready lk.console-logs lk.debug=1 lk.shutdown-grace=500')).toEqual({
      poweroffAfterReadyMs: 0,
      debug: true,
      consoleLogs: true,
      shutdownGraceMs: 500,
    });
  });

  it('defaults to off', () => {
    expect(bootOptions('console=ttyS0 lk.poweroff=never lk.debug=0')).toEqual({
      poweroffAfterReadyMs: undefined,
      debug: false,
      consoleLogs: false,
      shutdownGraceMs: DEFAULT_SHUTDOWN_GRACE_MS,
    });
  });

  it('powers off a given number of seconds after ready', () => {
    expect(bootOptions('lk.poweroff=ready+5').poweroffAfterReadyMs).toBe(5000);
    expect(bootOptions('lk.poweroff=ready+0.5').poweroffAfterReadyMs).toBe(500);
    expect(bootOptions('lk.poweroff=ready+soon').poweroffAfterReadyMs).toBeUndefined();
  });

  it('ignores a malformed grace period', () => {
    expect(bootOptions('lk.shutdown-grace=soon').shutdownGraceMs).toBe(DEFAULT_SHUTDOWN_GRACE_MS);
  });
});
