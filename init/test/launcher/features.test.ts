// lk-run features: the runtime-spec's features.json. Its shape is checked
// against the spec's schema (features-schema.json, features-linux.json and the
// enums of defs-linux.json, runtime-spec v1.2.1, transcribed below), and
// what it claims is checked against what `lk-run check` accepts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { baseConfig, buildLauncher, makeBundle, makeRootfs, runLauncher, scratch } from './harness.js';

const tmp = scratch('features');
let launcher = '';
let rootfs = '';
let features: Record<string, any> = {};

const strings = { type: 'array', items: { type: 'string' } };
const enumList = (values: string[]) => ({ type: 'array', items: { type: 'string', enum: values } });
const enabled = { type: 'object', properties: { enabled: { type: 'boolean' } } };
const seccompFlags = [
  'SECCOMP_FILTER_FLAG_TSYNC',
  'SECCOMP_FILTER_FLAG_LOG',
  'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
  'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
];
// prettier-ignore
const seccompArchs = [
  'SCMP_ARCH_X86',
  'SCMP_ARCH_X86_64',
  'SCMP_ARCH_X32',
  'SCMP_ARCH_ARM',
  'SCMP_ARCH_AARCH64',
  'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K',
  'SCMP_ARCH_MIPS',
  'SCMP_ARCH_MIPS64',
  'SCMP_ARCH_MIPS64N32',
  'SCMP_ARCH_MIPSEL',
  'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32',
  'SCMP_ARCH_PPC',
  'SCMP_ARCH_PPC64',
  'SCMP_ARCH_PPC64LE',
  'SCMP_ARCH_S390',
  'SCMP_ARCH_S390X',
  'SCMP_ARCH_SH',
  'SCMP_ARCH_SHEB',
  'SCMP_ARCH_PARISC',
  'SCMP_ARCH_PARISC64',
  'SCMP_ARCH_RISCV64',
];
// prettier-ignore
const seccompActions = [
  'SCMP_ACT_KILL',
  'SCMP_ACT_KILL_PROCESS',
  'SCMP_ACT_KILL_THREAD',
  'SCMP_ACT_TRAP',
  'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE',
  'SCMP_ACT_ALLOW',
  'SCMP_ACT_LOG',
  'SCMP_ACT_NOTIFY',
];
// prettier-ignore
const seccompOperators = ['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ'];
const namespaceTypes = ['mount', 'pid', 'network', 'uts', 'ipc', 'user', 'cgroup', 'time'];

/** The spec's schema, with additionalProperties false: features.md says no property outside the spec. */
const schema = {
  type: 'object',
  additionalProperties: false,
  required: ['ociVersionMin', 'ociVersionMax'],
  properties: {
    ociVersionMin: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+$' },
    ociVersionMax: { type: 'string', pattern: '^\\d+\\.\\d+\\.\\d+$' },
    hooks: strings,
    mountOptions: strings,
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
    potentiallyUnsafeConfigAnnotations: strings,
    linux: {
      type: 'object',
      additionalProperties: false,
      properties: {
        namespaces: enumList(namespaceTypes),
        capabilities: { type: 'array', items: { type: 'string', pattern: '^CAP_[A-Z_]+$' } },
        cgroup: {
          type: 'object',
          additionalProperties: false,
          properties: Object.fromEntries(['v1', 'v2', 'systemd', 'systemdUser', 'rdma'].map((k) => [k, { type: 'boolean' }])),
        },
        seccomp: {
          type: 'object',
          additionalProperties: false,
          properties: {
            enabled: { type: 'boolean' },
            actions: enumList(seccompActions),
            operators: enumList(seccompOperators),
            archs: enumList(seccompArchs),
            knownFlags: enumList(seccompFlags),
            supportedFlags: enumList(seccompFlags),
          },
        },
        apparmor: enabled,
        selinux: enabled,
        intelRdt: enabled,
        mountExtensions: { type: 'object', properties: { idmap: enabled } },
      },
    },
  },
};

beforeAll(() => {
  launcher = buildLauncher(join(tmp.dir, 'out'));
  rootfs = makeRootfs(join(tmp.dir, 'rootfs'));
  const r = runLauncher(launcher, ['features']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  features = JSON.parse(r.stdout);
});
afterAll(() => tmp.cleanup());

function check(edit: (config: Record<string, any>) => void) {
  const config = baseConfig(['true']);
  edit(config);
  return runLauncher(launcher, ['check', '--bundle', makeBundle(tmp.dir, rootfs, config), 'f1']);
}

describe('lk-run features', () => {
  it("matches the runtime-spec's features schema", () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);
    expect(validate(features), JSON.stringify(validate.errors)).toBe(true);
    expect(features.ociVersionMin).toBe('1.0.0');
    expect(features.ociVersionMax).toBe('1.2.1');
  });

  it('describes cgroup v2 only, with rdma, no systemd, no LSMs', () => {
    expect(features.linux.cgroup).toEqual({ v1: false, v2: true, systemd: false, systemdUser: false, rdma: true });
    expect(features.linux.apparmor).toEqual({ enabled: false });
    expect(features.linux.selinux).toEqual({ enabled: false });
    expect(features.linux.intelRdt).toEqual({ enabled: false });
    expect(features.hooks).toEqual(['prestart', 'createRuntime', 'createContainer', 'startContainer', 'poststart', 'poststop']);
  });

  it('lists exactly the namespace types of the spec that check accepts', () => {
    const accepted = namespaceTypes.filter((type) => {
      const r = check((c) => {
        c.linux.namespaces = type === 'mount' ? [{ type }] : [{ type: 'mount' }, { type }];
        c.hostname = undefined;
        c.linux.uidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
        c.linux.gidMappings = [{ containerID: 0, hostID: 1000, size: 1 }];
      });
      return r.status === 0;
    });
    expect(accepted.length).toBeGreaterThanOrEqual(7);
    expect([...features.linux.namespaces].sort()).toEqual([...accepted].sort());
  });

  it('lists seccomp actions that compile and leaves out NOTIFY, which check refuses', () => {
    expect(features.linux.seccomp.enabled).toBe(true);
    expect(features.linux.seccomp.actions).not.toContain('SCMP_ACT_NOTIFY');
    for (const action of [...features.linux.seccomp.actions, 'SCMP_ACT_NOTIFY']) {
      const r = check((c) => (c.linux.seccomp = { defaultAction: action }));
      expect(r.status, `${action}: ${r.stderr}`).toBe(action === 'SCMP_ACT_NOTIFY' ? 125 : 0);
    }
    expect(features.linux.seccomp.operators).toEqual([...seccompOperators].sort());
    expect(features.linux.seccomp.knownFlags).toEqual([
      'SECCOMP_FILTER_FLAG_LOG',
      'SECCOMP_FILTER_FLAG_SPEC_ALLOW',
      'SECCOMP_FILTER_FLAG_TSYNC',
    ]);
    const unknown = check(
      (c) => (c.linux.seccomp = { defaultAction: 'SCMP_ACT_ALLOW', flags: ['SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV'] }),
    );
    expect(unknown.status).toBe(125);
  });

  it('lists mount options check accepts, and not filesystem data such as acl', () => {
    expect(features.mountOptions).toContain('rro');
    expect(features.mountOptions).toContain('nosymfollow');
    expect(features.mountOptions).not.toContain('acl');
    const r = check((c) =>
      c.mounts.push({
        destination: '/mnt',
        type: 'tmpfs',
        source: 'tmpfs',
        options: features.mountOptions.filter((o: string) => o !== 'bind' && o !== 'rbind' && o !== 'remount'),
      }),
    );
    expect(r.stderr).toBe('');
  });

  it('lists the capabilities from CAP_CHOWN on, each accepted by check', () => {
    const caps: string[] = features.linux.capabilities;
    expect(caps[0]).toBe('CAP_CHOWN');
    expect(caps).toContain('CAP_CHECKPOINT_RESTORE');
    const r = check((c) => (c.process.capabilities = { bounding: caps, effective: caps, permitted: caps }));
    expect(r.stderr).toBe('');
    expect(check((c) => (c.process.capabilities = { bounding: ['CAP_NOT_A_CAP'] })).status).toBe(125);
  });
});
