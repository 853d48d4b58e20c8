// Small servers the boot tests run on the host, on loopback and ephemeral ports. A guest on
// QEMU's user network reaches them at 10.0.2.2:<port>.
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server } from 'node:net';

/** Seconds from the NTP era (1900) to the Unix epoch. */
const NTP_UNIX_OFFSET = 2_208_988_800;

function writeNtpTime(buf: Buffer, at: number, ms: number): void {
  const seconds = Math.floor(ms / 1000) + NTP_UNIX_OFFSET;
  buf.writeUInt32BE(seconds >>> 0, at);
  buf.writeUInt32BE(Math.floor(((ms % 1000) / 1000) * 2 ** 32) >>> 0, at + 4);
}

export interface NtpServer {
  port: number;
  /** Client requests answered. */
  answered: number;
  close(): Promise<void>;
}

/** An SNTP server (RFC 4330) at stratum 1 that answers every client request with the host's clock. */
export async function startNtpServer(): Promise<NtpServer> {
  const socket = createSocket('udp4');
  const server: NtpServer = { port: 0, answered: 0, close: () => new Promise((r) => socket.close(() => r())) };
  socket.on('message', (req, from) => {
    const received = Date.now();
    if (req.length < 48 || (req[0] & 7) !== 3) return; // mode 3: client
    const reply = Buffer.alloc(48);
    reply[0] = (0 << 6) | (req[0] & 0x38) | 4; // no leap warning, the client's version, mode 4
    reply[1] = 1; // stratum 1
    reply[2] = req[2]; // poll
    reply[3] = 0xec; // precision 2^-20
    reply.writeUInt32BE(0, 4); // root delay
    reply.writeUInt32BE(0x10, 8); // root dispersion
    reply.write('TEST', 12, 'ascii'); // reference id
    writeNtpTime(reply, 16, received - 1000); // reference: last "set" a second ago
    req.copy(reply, 24, 40, 48); // originate = the client's transmit
    writeNtpTime(reply, 32, received);
    writeNtpTime(reply, 40, Date.now());
    socket.send(reply, from.port, from.address);
    server.answered++;
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  server.port = socket.address().port;
  return server;
}

export interface SyslogListener {
  port: number;
  /** Messages in arrival order (UDP: one per datagram; TCP: octet-counted frames). */
  messages: string[];
  close(): Promise<void>;
}

/** A syslog collector on UDP (RFC 5426). */
export async function startSyslogUdp(): Promise<SyslogListener> {
  const socket: Socket = createSocket('udp4');
  const listener: SyslogListener = { port: 0, messages: [], close: () => new Promise((r) => socket.close(() => r())) };
  socket.on('message', (msg) => listener.messages.push(msg.toString('utf8')));
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  listener.port = socket.address().port;
  return listener;
}

/** A syslog collector on TCP with octet-counting framing (RFC 6587: "LEN SP MSG"). */
export async function startSyslogTcp(): Promise<SyslogListener> {
  const server: Server = createServer((conn) => {
    let pending = Buffer.alloc(0);
    conn.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      for (;;) {
        const space = pending.indexOf(0x20);
        if (space < 0) return;
        const length = Number(pending.subarray(0, space).toString('ascii'));
        if (!Number.isInteger(length) || length <= 0) {
          listener.messages.push(`BAD FRAME: ${pending.toString('utf8')}`); // the test shows it
          conn.destroy();
          return;
        }
        if (pending.length < space + 1 + length) return;
        listener.messages.push(pending.subarray(space + 1, space + 1 + length).toString('utf8'));
        pending = pending.subarray(space + 1 + length);
      }
    });
  });
  const listener: SyslogListener = { port: 0, messages: [], close: () => new Promise((r) => server.close(() => r())) };
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  listener.port = (server.address() as { port: number }).port;
  return listener;
}

/** RFC 5424's HEADER, nil STRUCTURED-DATA, then MSG: PRI, VERSION, TIMESTAMP, HOSTNAME, APP-NAME, PROCID, MSGID. */
export const RFC5424 =
  /^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d{1,6})?(?:Z|[+-]\d\d:\d\d)|-) ([\x21-\x7e]{1,255}) ([\x21-\x7e]{1,48}) ([\x21-\x7e]{1,128}) ([\x21-\x7e]{1,32}) - ?(.*)$/s;
