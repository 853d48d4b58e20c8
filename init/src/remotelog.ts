// Remote syslog, the I/O half: one socket to the collector, a bounded queue of framed RFC 5424
// messages, and a retry timer. Local log files are untouched; this only copies lines off the node.
// Until the destination is known (the kernel command line, or /run/config/syslog once onboot's
// metadata step has run) lines are held, so the boot's first lines are not lost.

import * as os from 'os';
import * as lk from 'lk';
import { FACILITY_DAEMON, formatRfc5424, frame, parseSyslogTarget, SEVERITY_INFO, utf8Length, type SyslogTarget } from './syslog.js';
import { log, readText } from './sys.js';

/** Messages held while the collector is unknown or unreachable; older ones are dropped first. */
const QUEUE_LIMIT = 1000;
const RETRY_MS = 2000;
/** A name that did not resolve is tried again less often: the resolver blocks PID 1 while it waits. */
const RESOLVE_RETRY_MS = 30_000;

type State = 'pending' | 'on' | 'off';

class RemoteLog {
  private state: State = 'pending';
  private target: SyslogTarget | null = null;
  private fd = -1;
  private queue: string[] = [];
  /** Bytes of queue[0]'s frame already sent (TCP can take part of a message). */
  private sentBytes = 0;
  private dropped = 0;
  private retryTimer: unknown = null;
  private lastError = '';

  /** True while lines are still wanted: forwarding, or waiting to learn where to. */
  wanted(): boolean {
    return this.state !== 'off';
  }

  /** `text` is lk.syslog's value or the contents of /run/config/syslog; `from` names it for errors. */
  configure(text: string, from: string): void {
    const target = parseSyslogTarget(text);
    if (typeof target === 'string') {
      this.disable();
      log(`lk-init: remote syslog off: ${from}: ${target}`);
      return;
    }
    this.target = target;
    this.state = 'on';
    log(`lk-init: remote syslog to ${target.proto}://${target.host}:${target.port} (from ${from})`);
    this.flush();
  }

  /** No collector: stop holding lines. */
  disable(): void {
    this.state = 'off';
    this.queue = [];
    this.closeSocket();
  }

  send(appName: string, line: string): void {
    if (this.state === 'off') return;
    const message = formatRfc5424({
      facility: FACILITY_DAEMON,
      severity: SEVERITY_INFO,
      timeMs: Date.now(),
      hostname: (readText('/proc/sys/kernel/hostname') ?? '').trim(),
      appName,
      message: line,
    });
    this.queue.push(message);
    if (this.queue.length > QUEUE_LIMIT) {
      this.queue.shift();
      this.sentBytes = 0;
      this.dropped++;
    }
    if (this.state === 'on' && this.retryTimer === null) this.flush();
  }

  private flush(): void {
    if (!this.target) return;
    try {
      if (this.fd < 0) this.fd = lk.connectInet(this.target.proto, this.target.host, this.target.port);
      while (this.queue.length > 0) {
        const framed = frame(this.target.proto, this.queue[0]);
        const n = lk.send(this.fd, framed, this.sentBytes);
        if (n < 0) {
          this.retryLater('the collector is not taking data yet');
          return;
        }
        this.sentBytes += n;
        if (this.sentBytes < utf8Length(framed)) {
          this.retryLater(''); // TCP took part of it
          return;
        }
        this.queue.shift();
        this.sentBytes = 0;
      }
      this.lastError = '';
    } catch (e) {
      this.closeSocket();
      const why = (e as Error).message;
      this.retryLater(why, why.startsWith('resolve ') ? RESOLVE_RETRY_MS : RETRY_MS);
    }
  }

  private retryLater(why: string, ms = RETRY_MS): void {
    if (why && why !== this.lastError) {
      this.lastError = why;
      this.localNote(`lk-init: remote syslog: ${why}; holding ${this.queue.length} lines and retrying`);
    }
    if (this.retryTimer !== null) return;
    this.retryTimer = os.setTimeout(() => {
      this.retryTimer = null;
      if (this.dropped > 0) {
        this.localNote(`lk-init: remote syslog: dropped ${this.dropped} lines while the collector was unreachable`);
        this.dropped = 0;
      }
      if (this.state === 'on') this.flush();
    }, ms);
  }

  /** A console line that is not itself forwarded (it is about forwarding). */
  private localNote(line: string): void {
    const state = this.state;
    this.state = 'off';
    log(line);
    this.state = state;
  }

  private closeSocket(): void {
    if (this.fd >= 0) os.close(this.fd);
    this.fd = -1;
    this.sentBytes = 0;
  }
}

export const remoteLog = new RemoteLog();

let remoteLogConfigured = false;

/** Where the node is told to send its logs after onboot ran: metadata's /run/config/syslog. */
export function configureFromMetadata(): void {
  if (!remoteLog.wanted() || remoteLogConfigured) return;
  const text = readText('/run/config/syslog');
  if (text !== null && text.trim() !== '') remoteLog.configure(text.trim(), '/run/config/syslog');
  else remoteLog.disable();
}

/** lk.syslog on the kernel command line wins over metadata. */
export function configureFromCmdline(value: string | undefined): void {
  if (value === undefined) return;
  remoteLogConfigured = true;
  remoteLog.configure(value, 'lk.syslog');
}
