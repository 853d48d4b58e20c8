// lkctl: the same binary run under another name; talks to PID 1 over its socket.

import * as std from 'std';
import * as lk from 'lk';
import { CONTROL_SOCKET, parseCommand, USAGE } from './protocol.js';

export function lkctl(args: string[]): never {
  if (args.length === 0 || args[0] === '-h' || args[0] === '--help' || args[0] === 'help') {
    std.out.puts(USAGE);
    std.exit(args.length === 0 ? 2 : 0);
  }
  const cmd = parseCommand(args);
  if ('error' in cmd) {
    std.err.puts(`lkctl: ${cmd.error}\n${USAGE}`);
    std.exit(2);
  }
  let fd: number;
  try {
    fd = lk.connectUnix(CONTROL_SOCKET);
    lk.writeString(fd, JSON.stringify(args) + '\n');
  } catch (e) {
    std.err.puts(`lkctl: ${(e as Error).message} (is the lkbuild init running?)\n`);
    std.exit(1);
  }
  let status: number | null = null;
  let pending = '';
  for (;;) {
    const chunk = lk.readString(fd);
    if (chunk === null) continue;
    if (chunk === '') break;
    if (status === null) {
      pending += chunk;
      const nl = pending.indexOf('\n');
      if (nl < 0) continue;
      status = Number(pending.slice(0, nl));
      const body = pending.slice(nl + 1);
      (status === 0 ? std.out : std.err).puts(body);
    } else {
      (status === 0 ? std.out : std.err).puts(chunk);
    }
    std.out.flush();
  }
  std.exit(status === 0 ? 0 : 1);
}
