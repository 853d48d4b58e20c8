// linux.resources onto cgroup v2 files, every field of the runtime-spec's
// config-linux.md, through `lk-run check` (what lk-run would write, in order,
// without a cgroup). Expected values are the spec's and runc's documented
// conversions, worked out by hand; cgroup-verbs.test.ts writes them for real.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { baseConfig, buildLauncher, makeBundle, makeRootfs, runLauncher, scratch } from './harness.js';

const tmp = scratch('resources');
let launcher = '';
let rootfs = '';

beforeAll(() => {
  launcher = buildLauncher(join(tmp.dir, 'out'));
  rootfs = makeRootfs(join(tmp.dir, 'rootfs'));
});
afterAll(() => tmp.cleanup());

function check(resources: Record<string, any>) {
  const config = baseConfig(['true']);
  config.linux.resources = resources;
  return runLauncher(launcher, ['check', '--bundle', makeBundle(tmp.dir, rootfs, config), 'c1']);
}

/** The cgroup files as [name, value] pairs in write order (a file may repeat: io.max, rdma.max). */
function files(resources: Record<string, any>): Array<[string, string]> {
  const r = check(resources);
  expect(r.stderr).toBe('');
  const block = /"cgroupFiles": \{([^}]*)\}/.exec(r.stdout)![1];
  return [...block.matchAll(/^\s*("(?:[^"\\]|\\.)*"): ("(?:[^"\\]|\\.)*")/gm)].map((m) => [JSON.parse(m[1]), JSON.parse(m[2])]);
}

describe('memory', () => {
  it('limit, reservation and swap (memory+swap -> swap alone)', () => {
    expect(files({ memory: { limit: 268435456, reservation: 134217728, swap: 536870912 } })).toEqual([
      ['memory.max', '268435456'],
      ['memory.low', '134217728'],
      ['memory.swap.max', '268435456'],
    ]);
  });

  it('swap equal to the limit is no swap; -1 is max; limit -1 alone lifts swap too', () => {
    expect(files({ memory: { limit: 1048576, swap: 1048576 } })).toEqual([
      ['memory.max', '1048576'],
      ['memory.swap.max', '0'],
    ]);
    expect(files({ memory: { limit: 1048576, swap: -1 } })).toEqual([
      ['memory.max', '1048576'],
      ['memory.swap.max', 'max'],
    ]);
    expect(files({ memory: { limit: -1 } })).toEqual([
      ['memory.max', 'max'],
      ['memory.swap.max', 'max'],
    ]);
  });

  it('accepts the v1-only fields at their unset values', () => {
    expect(files({ memory: { kernel: -1, kernelTCP: 0, disableOOMKiller: false, useHierarchy: true, checkBeforeUpdate: true } })).toEqual(
      [],
    );
  });
});

describe('cpu', () => {
  it.each([
    [2, '1'],
    [512, '59'],
    [1024, '100'],
    [2048, '174'],
    [262144, '10000'],
  ])('shares %i -> cpu.weight %s (runc: ceil(10^((l^2 + 125 l) / 612 - 7/34)), l = log2(shares))', (shares, weight) => {
    expect(files({ cpu: { shares } })).toEqual([['cpu.weight', weight]]);
  });

  it('quota and period -> cpu.max, burst, idle, cpus and mems', () => {
    expect(files({ cpu: { quota: 50000, period: 100000, burst: 20000, idle: 1, cpus: '0-1', mems: '0' } })).toEqual([
      ['cpuset.cpus', '0-1'],
      ['cpuset.mems', '0'],
      ['cpu.max', '50000 100000'],
      ['cpu.max.burst', '20000'],
      ['cpu.idle', '1'],
    ]);
  });

  it('a quota alone keeps the default period; no quota is max', () => {
    expect(files({ cpu: { quota: 25000 } })).toEqual([['cpu.max', '25000 100000']]);
    expect(files({ cpu: { period: 50000 } })).toEqual([['cpu.max', 'max 50000']]);
    expect(files({ cpu: { quota: -1, period: 100000 } })).toEqual([['cpu.max', 'max 100000']]);
  });
});

describe('pids, blockIO, hugepageLimits, rdma', () => {
  it('pids.limit: a number, 0 (a real limit, the spec says) and -1 (max)', () => {
    expect(files({ pids: { limit: 32771 } })).toEqual([['pids.max', '32771']]);
    expect(files({ pids: { limit: 0 } })).toEqual([['pids.max', '0']]);
    expect(files({ pids: { limit: -1 } })).toEqual([['pids.max', 'max']]);
  });

  it('blockIO weights -> io.bfq.weight, throttles -> io.max lines', () => {
    expect(
      files({
        blockIO: {
          weight: 500,
          weightDevice: [{ major: 8, minor: 0, weight: 300 }],
          throttleReadBpsDevice: [{ major: 8, minor: 0, rate: 600 }],
          throttleWriteBpsDevice: [{ major: 8, minor: 16, rate: 1048576 }],
          throttleReadIOPSDevice: [{ major: 8, minor: 0, rate: 300 }],
          throttleWriteIOPSDevice: [{ major: 8, minor: 16, rate: 0 }],
        },
      }),
    ).toEqual([
      ['io.bfq.weight', '500'],
      ['io.bfq.weight', '8:0 300'],
      ['io.max', '8:0 rbps=600'],
      ['io.max', '8:16 wbps=1048576'],
      ['io.max', '8:0 riops=300'],
      ['io.max', '8:16 wiops=max'],
    ]);
  });

  it('hugepageLimits -> hugetlb.<size>.max and .rsvd.max', () => {
    expect(
      files({
        hugepageLimits: [
          { pageSize: '2MB', limit: 209715200 },
          { pageSize: '1GB', limit: 0 },
        ],
      }),
    ).toEqual([
      ['hugetlb.2MB.max', '209715200'],
      ['hugetlb.2MB.rsvd.max', '209715200'],
      ['hugetlb.1GB.max', '0'],
      ['hugetlb.1GB.rsvd.max', '0'],
    ]);
  });

  it('rdma -> rdma.max, one line per device', () => {
    expect(files({ rdma: { mlx5_1: { hcaHandles: 3, hcaObjects: 10000 }, rxe3: { hcaObjects: 1000 } } })).toEqual([
      ['rdma.max', 'mlx5_1 hca_handle=3 hca_object=10000'],
      ['rdma.max', 'rxe3 hca_object=1000'],
    ]);
  });

  it('unified keys come last, as given, so they override converted values', () => {
    expect(
      files({ pids: { limit: 10 }, unified: { 'pids.max': '20', 'memory.high': '1G', 'io.max': '259:0 rbps=2097152 wiops=120' } }),
    ).toEqual([
      ['pids.max', '10'],
      ['pids.max', '20'],
      ['memory.high', '1G'],
      ['io.max', '259:0 rbps=2097152 wiops=120'],
    ]);
  });
});

describe('what cgroup v2 cannot do is refused, naming the field', () => {
  it.each([
    [{ memory: { swap: 1048576 } }, 'linux.resources.memory.swap: needs a memory limit'],
    [{ memory: { limit: 100, swap: 50 } }, 'linux.resources.memory.swap: must be at least the memory limit'],
    [{ memory: { kernel: 1048576 } }, 'linux.resources.memory.kernel: cgroup v2 has no separate kernel memory limit'],
    [{ memory: { kernelTCP: 1048576 } }, 'linux.resources.memory.kernelTCP: cgroup v2 has no separate kernel TCP memory limit'],
    [{ memory: { swappiness: 0 } }, 'linux.resources.memory.swappiness: cgroup v2 has no swappiness'],
    [{ memory: { disableOOMKiller: true } }, 'linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer'],
    [{ memory: { useHierarchy: false } }, 'linux.resources.memory.useHierarchy: cgroup v2 is always hierarchical'],
    [{ cpu: { realtimeRuntime: 950000 } }, 'linux.resources.cpu.realtimeRuntime: cgroup v2 has no realtime CPU limits'],
    [{ cpu: { realtimePeriod: 1000000 } }, 'linux.resources.cpu.realtimePeriod: cgroup v2 has no realtime CPU limits'],
    [{ cpu: { quota: 10000, burst: 20000 } }, 'linux.resources.cpu.burst: must not exceed the quota'],
    [{ cpu: { idle: 2 } }, 'linux.resources.cpu.idle: 2 is out of range [0, 1]'],
    [{ blockIO: { weight: 5 } }, 'linux.resources.blockIO.weight: must be in [10, 1000]'],
    [{ blockIO: { leafWeight: 10 } }, 'linux.resources.blockIO.leafWeight: cgroup v2 has no leaf weight'],
    [
      { blockIO: { weightDevice: [{ major: 8, minor: 0, leafWeight: 300 }] } },
      'linux.resources.blockIO.weightDevice[0].leafWeight: cgroup v2 has no leaf weight',
    ],
    [{ blockIO: { weightDevice: [{ major: 8, weight: 300 }] } }, 'linux.resources.blockIO.weightDevice[0]: needs major and minor'],
    [{ blockIO: { throttleReadBpsDevice: [{ major: 8, minor: 0 }] } }, 'linux.resources.blockIO.throttleReadBpsDevice[0]: needs a rate'],
    [{ hugepageLimits: [{ pageSize: '2M', limit: 1 }] }, 'linux.resources.hugepageLimits[0].pageSize: expected a size like 2MB or 1GB'],
    [{ hugepageLimits: [{ pageSize: '2MB' }] }, 'linux.resources.hugepageLimits[0]: needs a limit'],
    [{ rdma: { mlx5_1: {} } }, 'linux.resources.rdma.mlx5_1: needs hcaHandles or hcaObjects'],
    [{ rdma: { 'a b': { hcaHandles: 1 } } }, 'linux.resources.rdma.a b: not an RDMA device name'],
    [{ network: { classID: 1048577 } }, 'linux.resources.network.classID: cgroup v2 has no net_cls controller'],
    [
      { network: { priorities: [{ name: 'eth0', priority: 500 }] } },
      'linux.resources.network.priorities: cgroup v2 has no net_prio controller',
    ],
  ])('%j', (resources, message) => {
    const r = check(resources);
    expect(r.stderr).toBe(`lk-run: config: ${message}\n`);
    expect(r.status).toBe(125);
  });
});
