// Remote syslog, the pure half: where to send (lk.syslog=udp://host:port), RFC 5424 lines,
// transport framing, and splitting a byte stream into lines.

export interface SyslogTarget {
  proto: 'udp' | 'tcp';
  host: string;
  port: number;
}

/** Parses udp://host:port, tcp://host:port or tcp://[v6]:port; returns an error text otherwise. */
export function parseSyslogTarget(text: string): SyslogTarget | string {
  const m = /^(udp|tcp):\/\/(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})\/?$/.exec(text.trim());
  if (!m) return `"${text}" is not udp://HOST:PORT or tcp://HOST:PORT`;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return `"${text}": port ${m[3]} is not between 1 and 65535`;
  return { proto: m[1] as 'udp' | 'tcp', host: m[2].replace(/^\[|\]$/g, ''), port };
}

/** RFC 5424 facility "system daemons" and severity "informational". */
export const FACILITY_DAEMON = 3;
export const SEVERITY_INFO = 6;

export interface SyslogMessage {
  facility: number;
  severity: number;
  /** Milliseconds since the epoch. */
  timeMs: number;
  hostname: string;
  appName: string;
  message: string;
}

/** MSG longer than this is cut: RFC 5426 receivers need only take 2048-byte datagrams, most take far more. */
export const MAX_MESSAGE_CHARS = 4096;

/** Printable US-ASCII (33..126) only, at most `max` characters; "-" (NILVALUE) when empty. */
function header(field: string, max: number): string {
  const clean = field.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return clean === '' ? '-' : clean;
}

/**
 * One RFC 5424 message: <PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID SD MSG, with PROCID,
 * MSGID and STRUCTURED-DATA nil. The timestamp is UTC with milliseconds.
 */
export function formatRfc5424(m: SyslogMessage): string {
  const pri = m.facility * 8 + m.severity;
  const time = Number.isFinite(m.timeMs) ? new Date(m.timeMs).toISOString() : '-';
  const message = m.message.replace(/\r?\n$/, '').slice(0, MAX_MESSAGE_CHARS);
  return `<${pri}>1 ${time} ${header(m.hostname, 255)} ${header(m.appName, 48)} - - -${message === '' ? '' : ' ' + message}`;
}

/** Bytes of `s` in UTF-8 (QuickJS has no TextEncoder). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      n += 4; // a surrogate pair
      i++;
    } else n += 3;
  }
  return n;
}

/** UDP: one message per datagram (RFC 5426). TCP: octet counting, "LEN SP MSG" (RFC 6587). */
export function frame(proto: 'udp' | 'tcp', message: string): string {
  return proto === 'udp' ? message : `${utf8Length(message)} ${message}`;
}

/** Splits a stream into lines; a line longer than `maxChars` is passed on in pieces. */
export class LineSplitter {
  private partial = '';

  constructor(private readonly maxChars = MAX_MESSAGE_CHARS) {}

  push(chunk: string): string[] {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    while (this.partial.length >= this.maxChars) {
      parts.push(this.partial.slice(0, this.maxChars));
      this.partial = this.partial.slice(this.maxChars);
    }
    return parts.map((l) => l.replace(/\r$/, ''));
  }

  /** The unterminated rest, at end of stream. */
  flush(): string[] {
    const rest = this.partial;
    this.partial = '';
    return rest === '' ? [] : [rest.replace(/\r$/, '')];
  }
}
