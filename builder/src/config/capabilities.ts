import { didYouMean } from './suggest.js';

/** Every capability Linux 6.1 knows, in kernel order; "all" means these. */
export const allCapabilities = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_DAC_READ_SEARCH',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETPCAP',
  'CAP_LINUX_IMMUTABLE',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_BROADCAST',
  'CAP_NET_ADMIN',
  'CAP_NET_RAW',
  'CAP_IPC_LOCK',
  'CAP_IPC_OWNER',
  'CAP_SYS_MODULE',
  'CAP_SYS_RAWIO',
  'CAP_SYS_CHROOT',
  'CAP_SYS_PTRACE',
  'CAP_SYS_PACCT',
  'CAP_SYS_ADMIN',
  'CAP_SYS_BOOT',
  'CAP_SYS_NICE',
  'CAP_SYS_RESOURCE',
  'CAP_SYS_TIME',
  'CAP_SYS_TTY_CONFIG',
  'CAP_MKNOD',
  'CAP_LEASE',
  'CAP_AUDIT_WRITE',
  'CAP_AUDIT_CONTROL',
  'CAP_SETFCAP',
  'CAP_MAC_OVERRIDE',
  'CAP_MAC_ADMIN',
  'CAP_SYSLOG',
  'CAP_WAKE_ALARM',
  'CAP_BLOCK_SUSPEND',
  'CAP_AUDIT_READ',
  'CAP_PERFMON',
  'CAP_BPF',
  'CAP_CHECKPOINT_RESTORE',
];

/** Docker's default set: what a container gets when neither the label nor the YAML names any. */
export const dockerDefaultCapabilities = [
  'CAP_AUDIT_WRITE',
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FOWNER',
  'CAP_FSETID',
  'CAP_KILL',
  'CAP_MKNOD',
  'CAP_NET_BIND_SERVICE',
  'CAP_NET_RAW',
  'CAP_SETFCAP',
  'CAP_SETGID',
  'CAP_SETPCAP',
  'CAP_SETUID',
  'CAP_SYS_CHROOT',
];

const known = new Set(allCapabilities);

export interface CapabilityProblem {
  index: number;
  message: string;
  hint?: string;
}

/** Problems in a capabilities list: unknown names, and "all"/"none" that are not alone. */
export function capabilityProblems(list: unknown[]): CapabilityProblem[] {
  const problems: CapabilityProblem[] = [];
  list.forEach((entry, index) => {
    if (typeof entry !== 'string') return; // the schema reports the type
    const lower = entry.toLowerCase();
    if (lower === 'all' || lower === 'none') {
      if (list.length !== 1)
        problems.push({ index, message: `"${entry}" must be the only entry of its list`, hint: `remove the other entries or "${entry}"` });
      return;
    }
    if (known.has(entry)) return;
    const prefixed = `CAP_${entry.toUpperCase().replace(/^CAP_/, '')}`;
    const hint = known.has(prefixed) ? `did you mean "${prefixed}"?` : didYouMean(entry, allCapabilities);
    problems.push({ index, message: `unknown capability "${entry}"; expected a name like CAP_NET_ADMIN, or "all" or "none"`, hint });
  });
  return problems;
}

/** A valid list with "all" and "none" expanded. */
export function expandCapabilities(list: string[]): string[] {
  if (list.length === 1 && list[0].toLowerCase() === 'all') return [...allCapabilities];
  if (list.length === 1 && list[0].toLowerCase() === 'none') return [];
  return list;
}
