import { describe, expect, it } from 'vitest';
import { formatRfc5424, frame, LineSplitter, parseSyslogTarget, utf8Length } from '../src/syslog.js';

// 2003-10-11T22:14:15.003Z, the instant of RFC 5424's examples (section 6.5).
const RFC_EXAMPLE_MS = Date.UTC(2003, 9, 11, 22, 14, 15, 3);

describe('formatRfc5424', () => {
  it('writes the shape of RFC 5424 example 1, with nil PROCID, MSGID and SD', () => {
    // RFC 5424 6.5 example 1: <34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed...
    const line = formatRfc5424({
      facility: 4,
      severity: 2,
      timeMs: RFC_EXAMPLE_MS,
      hostname: 'mymachine.example.com',
      appName: 'su',
      message: "'su root' failed for lonvick on /dev/pts/8",
    });
    expect(line).toBe("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - - - 'su root' failed for lonvick on /dev/pts/8");
  });

  it('tags a service line as daemon.info (PRI 30) with the service as APP-NAME', () => {
    const line = formatRfc5424({
      facility: 3,
      severity: 6,
      timeMs: RFC_EXAMPLE_MS,
      hostname: 'node-1',
      appName: 'sshd',
      message: 'listening on 0.0.0.0 port 22\n',
    });
    expect(line).toBe('<30>1 2003-10-11T22:14:15.003Z node-1 sshd - - - listening on 0.0.0.0 port 22');
  });

  it('puts NILVALUE for an empty hostname and replaces what headers may not hold', () => {
    const line = formatRfc5424({ facility: 3, severity: 6, timeMs: RFC_EXAMPLE_MS, hostname: '', appName: 'my app\u00e9', message: '' });
    expect(line).toBe('<30>1 2003-10-11T22:14:15.003Z - my_app_ - - -');
  });

  it('cuts APP-NAME at 48 characters and keeps UTF-8 in MSG', () => {
    const line = formatRfc5424({
      facility: 3,
      severity: 6,
      timeMs: RFC_EXAMPLE_MS,
      hostname: 'h',
      appName: 'a'.repeat(60),
      message: 'grüße',
    });
    expect(line).toBe(`<30>1 2003-10-11T22:14:15.003Z h ${'a'.repeat(48)} - - - grüße`);
  });
});

describe('frame', () => {
  it('sends UDP messages as they are and counts TCP octets in UTF-8 (RFC 6587)', () => {
    expect(frame('udp', '<30>1 - h a - - - x')).toBe('<30>1 - h a - - - x');
    expect(frame('tcp', '<30>1 - h a - - - grüße')).toBe('25 <30>1 - h a - - - grüße');
    expect(utf8Length('a\u00e9\u20ac\u{1f600}')).toBe(1 + 2 + 3 + 4);
  });
});

describe('parseSyslogTarget', () => {
  it('reads udp and tcp URLs, names and IPv6 literals', () => {
    expect(parseSyslogTarget('udp://10.0.2.2:5514')).toEqual({ proto: 'udp', host: '10.0.2.2', port: 5514 });
    expect(parseSyslogTarget('tcp://logs.example.com:601\n')).toEqual({ proto: 'tcp', host: 'logs.example.com', port: 601 });
    expect(parseSyslogTarget('tcp://[fd00::1]:514')).toEqual({ proto: 'tcp', host: 'fd00::1', port: 514 });
  });

  it('explains what is wrong with anything else', () => {
    expect(parseSyslogTarget('10.0.2.2:514')).toBe('"10.0.2.2:514" is not udp://HOST:PORT or tcp://HOST:PORT');
    expect(parseSyslogTarget('http://h:514')).toBe('"http://h:514" is not udp://HOST:PORT or tcp://HOST:PORT');
    expect(parseSyslogTarget('udp://h:70000')).toBe('"udp://h:70000": port 70000 is not between 1 and 65535');
    expect(parseSyslogTarget('udp://h:0')).toBe('"udp://h:0": port 0 is not between 1 and 65535');
  });
});

describe('LineSplitter', () => {
  it('joins lines split across reads and drops CR', () => {
    const s = new LineSplitter();
    expect(s.push('one\r\ntw')).toEqual(['one']);
    expect(s.push('o\nthree')).toEqual(['two']);
    expect(s.flush()).toEqual(['three']);
    expect(s.flush()).toEqual([]);
  });

  it('passes an endless line on in pieces', () => {
    const s = new LineSplitter(4);
    expect(s.push('abcdefghij')).toEqual(['abcd', 'efgh']);
    expect(s.push('\n')).toEqual(['ij']);
  });
});
