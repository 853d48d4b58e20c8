import { describe, expect, it } from 'vitest';
import { formatDuration, formatList, parseCommand } from '../src/protocol.js';
import { markers } from '../src/markers.js';

describe('parseCommand', () => {
  it('parses every verb', () => {
    expect(parseCommand(['ls'])).toEqual({ verb: 'ls' });
    expect(parseCommand(['logs', '-f', 'web'])).toEqual({ verb: 'logs', name: 'web', follow: true });
    expect(parseCommand(['logs', 'web'])).toEqual({ verb: 'logs', name: 'web', follow: false });
    expect(parseCommand(['restart', 'web'])).toEqual({ verb: 'restart', name: 'web' });
    expect(parseCommand(['poweroff'])).toEqual({ verb: 'poweroff' });
  });

  it('rejects bad requests with a message', () => {
    expect(parseCommand(['stop'])).toEqual({ error: 'stop takes one service name' });
    expect(parseCommand(['ls', 'x'])).toEqual({ error: 'ls takes no arguments' });
    expect(parseCommand(['frobnicate'])).toEqual({ error: 'unknown command frobnicate' });
    expect(parseCommand([])).toEqual({ error: 'missing command' });
    expect(parseCommand({ verb: 'ls' })).toEqual({ error: 'malformed request' });
  });
});

describe('formatList', () => {
  it('aligns columns', () => {
    const text = formatList(
      [
        { name: 'sshd', state: 'running', pid: 42, restarts: 0, lastExit: null, startedAt: 1000 },
        { name: 'dhcpcd', state: 'backoff', pid: null, restarts: 3, lastExit: 1, startedAt: null },
      ],
      76_500,
    );
    expect(text).toBe(
      'NAME    STATE    PID  RESTARTS  UPTIME  LAST-EXIT\n' +
        'sshd    running  42   0         1m15s   -\n' +
        'dhcpcd  backoff  -    3         -       1\n',
    );
  });

  it('formats durations', () => {
    expect(formatDuration(999)).toBe('0s');
    expect(formatDuration(59_000)).toBe('59s');
    expect(formatDuration(3_723_000)).toBe('1h2m3s');
  });
});

describe('markers', () => {
  it('match the documented console format', () => {
    expect(markers.start(1.234)).toBe('lk-init: start uptime=1.234');
    expect(markers.onboot('hello', 0, 2)).toBe('lk-init: onboot hello exit=0 uptime=2.000');
    expect(markers.serviceStarted('web', 56, 2.1)).toBe('lk-init: service web started pid=56 uptime=2.100');
    expect(markers.ready(3)).toBe('lk-init: ready uptime=3.000');
    expect(markers.serviceExited('web', 3, 400)).toBe('lk-init: service web exited code=3 restart-in=400');
    expect(markers.serviceExited('web', 0, null)).toBe('lk-init: service web exited code=0 restart-in=never');
    expect(markers.shutdown(9.9996)).toBe('lk-init: shutdown uptime=10.000');
  });
});
