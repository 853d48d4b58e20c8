// Helpers for the init's boot tests (services*, shutdown*).

/** Text after `<tag> ` on every console line that starts with the tag, in order. */
export function tagged(output: string, tag: string): string[] {
  return output
    .split('\n')
    .filter((l) => l.startsWith(`${tag} `))
    .map((l) => l.slice(tag.length + 1));
}

/** The kernel's printk timestamp (seconds) of the first console line containing `text`. */
export function kernelTime(output: string, text: string): number {
  const line = output.split('\n').find((l) => l.includes(text));
  const m = line && /^\[\s*(\d+\.\d+)\]/.exec(line);
  if (!m) throw new Error(`no timestamped kernel line with "${text}"`);
  return Number(m[1]);
}

export interface ServiceEvent {
  name: string;
  what: 'started' | 'exited';
  fields: Record<string, string>;
  line: string;
}

/** "lk-init: service NAME started|exited key=value..." markers, in order. */
export function serviceEvents(output: string, name?: string, what?: 'started' | 'exited'): ServiceEvent[] {
  const found: ServiceEvent[] = [];
  for (const line of output.split('\n')) {
    const m = /^lk-init: service (\S+) (started|exited)((?: [\w-]+=\S*)+)$/.exec(line);
    if (!m) continue;
    const fields = Object.fromEntries(
      m[3]!
        .trim()
        .split(' ')
        .map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]),
    );
    if ((name === undefined || m[1] === name) && (what === undefined || m[2] === what)) {
      found.push({ name: m[1]!, what: m[2] as 'started' | 'exited', fields, line });
    }
  }
  return found;
}
