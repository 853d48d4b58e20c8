// What a seccomp profile does with one x86-64 call, evaluated as lk-run and libseccomp read an
// OCI profile: the first rule naming the syscall whose conditions all hold decides (conditional
// rules first), otherwise the default action. Rules with containers' `includes`/`excludes`
// (arches, caps) are filtered for x86 and the given capabilities first.

export interface ProfileRule {
  names: string[];
  action: string;
  errnoRet?: number;
  args?: { index: number; value: number; valueTwo?: number; op: string }[];
  includes?: { arches?: string[]; caps?: string[] };
  excludes?: { arches?: string[]; caps?: string[] };
}

export interface Profile {
  defaultErrnoRet?: number;
  syscalls: ProfileRule[];
}

const X86 = ['amd64', 'x86', 'x32'];

function applies(r: ProfileRule, caps: readonly string[]): boolean {
  const inc = r.includes ?? {};
  const exc = r.excludes ?? {};
  if (inc.arches && !inc.arches.some((a) => X86.includes(a))) return false;
  if (inc.caps && !inc.caps.every((c) => caps.includes(c))) return false;
  if (exc.caps?.some((c) => caps.includes(c))) return false;
  return !exc.arches?.includes('amd64');
}

function holds(r: ProfileRule, args: number[]): boolean {
  return (r.args ?? []).every((a) => {
    const v = BigInt(args[a.index] ?? 0);
    const x = BigInt(a.value);
    switch (a.op) {
      case 'SCMP_CMP_EQ':
        return v === x;
      case 'SCMP_CMP_NE':
        return v !== x;
      case 'SCMP_CMP_LT':
        return v < x;
      case 'SCMP_CMP_LE':
        return v <= x;
      case 'SCMP_CMP_GT':
        return v > x;
      case 'SCMP_CMP_GE':
        return v >= x;
      case 'SCMP_CMP_MASKED_EQ':
        return (v & x) === BigInt(a.valueTwo ?? 0);
      default:
        throw new Error(`unknown op ${a.op}`);
    }
  });
}

/** 'allow' or the errno the call fails with. `caps` filters containers-style conditional rules. */
export function verdict(p: Profile, name: string, args: number[] = [], caps: readonly string[] = []): 'allow' | number {
  const rules = p.syscalls.filter((r) => r.names.includes(name) && applies(r, caps));
  const ordered = [...rules.filter((r) => r.args?.length), ...rules.filter((r) => !r.args?.length)];
  const hit = ordered.find((r) => holds(r, args));
  if (!hit) return p.defaultErrnoRet ?? 1;
  return hit.action === 'SCMP_ACT_ALLOW' ? 'allow' : (hit.errnoRet ?? 1);
}
