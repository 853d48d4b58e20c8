// lkctl's command language, shared by the client and the init's control socket. Pure.
//
// Wire format: the client sends its arguments as one JSON array and a
// newline; the init answers with a status line ("0" or "1") and then text.

export const CONTROL_SOCKET = '/run/lkctl.sock';

export type Command =
  | { verb: 'ls' }
  | { verb: 'logs'; name: string; follow: boolean }
  | { verb: 'start' | 'stop' | 'restart'; name: string }
  | { verb: 'poweroff' | 'reboot' | 'halt' };

export const USAGE = `usage: lkctl COMMAND
  ls                     list services and their state
  logs [-f] NAME         print (and follow) a service's log
  start|stop|restart NAME
  poweroff|reboot|halt   shut the machine down
`;

export function parseCommand(args: unknown): Command | { error: string } {
  if (!Array.isArray(args) || !args.every((a) => typeof a === 'string')) return { error: 'malformed request' };
  const [verb, ...rest] = args as string[];
  switch (verb) {
    case 'ls':
    case 'poweroff':
    case 'reboot':
    case 'halt':
      if (rest.length > 0) return { error: `${verb} takes no arguments` };
      return { verb };
    case 'start':
    case 'stop':
    case 'restart':
      if (rest.length !== 1) return { error: `${verb} takes one service name` };
      return { verb, name: rest[0]! };
    case 'logs': {
      const follow = rest.includes('-f') || rest.includes('--follow');
      const names = rest.filter((a) => a !== '-f' && a !== '--follow');
      if (names.length !== 1) return { error: 'logs takes one service name' };
      return { verb: 'logs', name: names[0]!, follow };
    }
    default:
      return { error: verb === undefined ? 'missing command' : `unknown command ${verb}` };
  }
}

export interface ListedService {
  name: string;
  state: string;
  pid: number | null;
  restarts: number;
  lastExit: number | null;
  /** When the current run started (ms, same clock as formatList's `nowMs`); null when not running. */
  startedAt?: number | null;
}

/** 75 -> "1m15s"; whole seconds. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const sec = total % 60;
  if (h > 0) return `${h}h${m}m${sec}s`;
  if (m > 0) return `${m}m${sec}s`;
  return `${sec}s`;
}

/** `lkctl ls` output: aligned columns. */
export function formatList(services: ListedService[], nowMs = 0): string {
  const rows = [['NAME', 'STATE', 'PID', 'RESTARTS', 'UPTIME', 'LAST-EXIT']];
  for (const s of services) {
    const up = s.startedAt === null || s.startedAt === undefined ? '-' : formatDuration(nowMs - s.startedAt);
    rows.push([
      s.name,
      s.state,
      s.pid === null ? '-' : String(s.pid),
      String(s.restarts),
      up,
      s.lastExit === null ? '-' : String(s.lastExit),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}
