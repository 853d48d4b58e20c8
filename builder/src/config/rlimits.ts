import { didYouMean } from './suggest.js';

export const rlimitNames = [
  'RLIMIT_CPU',
  'RLIMIT_FSIZE',
  'RLIMIT_DATA',
  'RLIMIT_STACK',
  'RLIMIT_CORE',
  'RLIMIT_RSS',
  'RLIMIT_NPROC',
  'RLIMIT_NOFILE',
  'RLIMIT_MEMLOCK',
  'RLIMIT_AS',
  'RLIMIT_LOCKS',
  'RLIMIT_SIGPENDING',
  'RLIMIT_MSGQUEUE',
  'RLIMIT_NICE',
  'RLIMIT_RTPRIO',
  'RLIMIT_RTTIME',
];

/** RLIM_INFINITY. It does not fit a double: limits are bigints, written exactly by configJson. */
export const unlimited = 18446744073709551615n;

export interface Rlimit {
  type: string;
  soft: bigint;
  hard: bigint;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; message: string; hint?: string };

/** LinuxKit's rlimit strings: "nofile,1024,4096", "RLIMIT_CORE,unlimited,unlimited". */
export function parseRlimit(text: string): Parsed<Rlimit> {
  const expected = 'expected "name,soft,hard" such as "nofile,1024,4096" (values are numbers or "unlimited")';
  const parts = text.split(',').map((p) => p.trim());
  if (parts.length !== 3) return { ok: false, message: `cannot parse rlimit "${text}"; ${expected}` };
  const upper = parts[0].toUpperCase();
  const type = upper.startsWith('RLIMIT_') ? upper : `RLIMIT_${upper}`;
  if (!rlimitNames.includes(type)) {
    const short = rlimitNames.map((n) => n.slice('RLIMIT_'.length).toLowerCase());
    return {
      ok: false,
      message: `unknown rlimit "${parts[0]}" in "${text}"; expected one of ${short.join(', ')}`,
      hint: didYouMean(parts[0].replace(/^rlimit_/i, ''), short),
    };
  }
  const values: bigint[] = [];
  for (const v of parts.slice(1)) {
    if (v.toLowerCase() === 'unlimited') values.push(unlimited);
    else if (/^\d+$/.test(v) && BigInt(v) <= unlimited) values.push(BigInt(v));
    else
      return {
        ok: false,
        message: `rlimit "${text}": ${JSON.stringify(v)} is not a limit; expected a non-negative integer or "unlimited"`,
      };
  }
  const [soft, hard] = values;
  if (soft > hard) return { ok: false, message: `rlimit "${text}": the soft limit is above the hard limit; expected soft <= hard` };
  return { ok: true, value: { type, soft, hard } };
}
