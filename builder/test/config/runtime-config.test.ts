import { describe, expect, it } from 'vitest';
import { ConfigError, type ImageSpec } from '../../src/config/index.js';
import { bundleConfig, configJson, dockerMaskedPaths } from '../../src/config/runtime-config.js';
import type { ImageConfig } from '../../src/oci/media-types.js';
import { dockerDefaultCapabilities } from '../../src/config/capabilities.js';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const image = (extra: Partial<ImageSpec> = {}): ImageSpec => ({ name: 'web', image: 'nginx:1.25', ...extra });
const withLabel = (label: object, rest: ImageConfig = {}): ImageConfig => ({
  ...rest,
  Labels: { 'org.mobyproject.config': JSON.stringify(label) },
});
const config = (spec: ImageSpec, ic: ImageConfig = {}, kind: 'onboot' | 'service' | 'onshutdown' = 'service') =>
  bundleConfig(spec, ic, kind).config as Json;

describe('the image config, the label and the YAML merge in that order', () => {
  it('takes args, env, cwd and user from the image config', () => {
    const c = config(image(), {
      Entrypoint: ['/docker-entrypoint.sh'],
      Cmd: ['nginx', '-g', 'daemon off;'],
      Env: ['A=1'],
      WorkingDir: '/srv',
      User: '101:102',
    });
    expect(c.process.args).toEqual(['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;']);
    expect(c.process.env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'A=1']);
    expect(c.process.cwd).toBe('/srv');
    expect(c.process.user).toEqual({ uid: 101, gid: 102 });
  });

  it('keeps an image PATH and defaults cwd to /', () => {
    const c = config(image(), { Env: ['PATH=/bin'] });
    expect(c.process.env).toEqual(['PATH=/bin']);
    expect(c.process.cwd).toBe('/');
  });

  it('lets the label override the image config and the YAML override the label', () => {
    const ic = withLabel({ command: ['/label'], env: ['L=1'], cwd: '/label', readonly: true }, { Cmd: ['/image'] });
    expect(config(image(), ic).process.args).toEqual(['/label']);
    const c = config(image({ command: ['/yaml'], cwd: '/yaml' }), ic);
    expect(c.process.args).toEqual(['/yaml']);
    expect(c.process.cwd).toBe('/yaml');
    expect(c.process.env).toContain('L=1');
    expect(c.root).toEqual({ path: 'rootfs', readonly: true });
    expect(config(image({ readonly: false }), ic).root.readonly).toBe(false);
  });

  it('replaces label capabilities wholesale but appends capabilities.add, without repeats', () => {
    const ic = withLabel({ capabilities: ['CAP_SYS_ADMIN', 'CAP_NET_ADMIN'], 'capabilities.add': ['CAP_SYS_TIME'] });
    expect(config(image(), ic).process.capabilities.effective).toEqual(['CAP_NET_ADMIN', 'CAP_SYS_ADMIN', 'CAP_SYS_TIME']);
    const c = config(image({ capabilities: ['CAP_CHOWN'], 'capabilities.add': ['CAP_SYS_TIME', 'CAP_KILL'] }), ic);
    expect(c.process.capabilities.effective).toEqual(['CAP_CHOWN', 'CAP_KILL', 'CAP_SYS_TIME']);
  });

  it('replaces label binds wholesale but appends binds.add, without repeats', () => {
    const ic = withLabel({ binds: ['/a:/a'], 'binds.add': ['/b:/b'] });
    const dests = (c: Json) => c.mounts.filter((m: Json) => m.type === 'bind').map((m: Json) => m.destination);
    expect(dests(config(image(), ic))).toEqual(['/a', '/b']);
    expect(dests(config(image({ binds: ['/c:/c'], 'binds.add': ['/b:/b', '/d:/d'] }), ic))).toEqual(['/c', '/b', '/d']);
  });

  it('rejects a label that names a field wrongly, at its position in the label', () => {
    const ic = { Labels: { 'org.mobyproject.config': '{"capabilities": ["CAP_SYS_ADMIN"], "bind": ["/a:/a"]}' } };
    expect(() => bundleConfig(image(), ic, 'service')).toThrow(ConfigError);
    expect(() => bundleConfig(image(), ic, 'service')).toThrow(
      'nginx:1.25 label org.mobyproject.config:1:37: unknown key "bind" in the top level (did you mean "binds"?)',
    );
  });

  it('rejects a label that sets the name', () => {
    const ic = withLabel({ name: 'x' });
    expect(() => bundleConfig(image(), ic, 'service')).toThrow(
      'nginx:1.25 label org.mobyproject.config:1:2: name cannot be set in the org.mobyproject.config label',
    );
  });
});

describe('capabilities', () => {
  it("defaults to Docker's set", () => {
    const caps = config(image()).process.capabilities;
    expect(caps.effective).toEqual([...dockerDefaultCapabilities].sort());
    expect(caps.bounding).toEqual(caps.effective);
    expect(caps.permitted).toEqual(caps.effective);
    expect(caps.inheritable).toEqual(caps.effective);
    expect(caps.ambient).toEqual([]);
  });

  it('expands "all" and "none"', () => {
    expect(config(image({ capabilities: ['all'] })).process.capabilities.effective).toHaveLength(41);
    expect(config(image({ capabilities: ['none'] })).process.capabilities.effective).toEqual([]);
  });

  it('puts ambient capabilities in the bounding set', () => {
    const caps = config(image({ capabilities: ['CAP_CHOWN'], ambient: ['CAP_NET_BIND_SERVICE'] })).process.capabilities;
    expect(caps.ambient).toEqual(['CAP_NET_BIND_SERVICE']);
    expect(caps.bounding).toEqual(['CAP_CHOWN', 'CAP_NET_BIND_SERVICE']);
    expect(caps.effective).toEqual(['CAP_CHOWN']);
  });
});

describe('namespaces', () => {
  const ns = (spec: ImageSpec) => config(spec).linux.namespaces;
  it('shares net, ipc and uts with the host and gets new pid and mount namespaces by default', () => {
    expect(ns(image())).toEqual([{ type: 'pid' }, { type: 'mount' }]);
  });
  it('reads "new", "none", "host" and paths', () => {
    expect(ns(image({ net: 'none', ipc: 'new', uts: '/run/netns/x', pid: 'host' }))).toEqual([
      { type: 'network' },
      { type: 'ipc' },
      { type: 'uts', path: '/run/netns/x' },
      { type: 'mount' },
    ]);
    expect(ns(image({ net: '/run/netns/wg0', userns: 'new' }))).toEqual([
      { type: 'network', path: '/run/netns/wg0' },
      { type: 'pid' },
      { type: 'user' },
      { type: 'mount' },
    ]);
  });
});

describe('mounts', () => {
  it('starts from the default mounts, parents first', () => {
    const c = config(image());
    expect(c.mounts.map((m: Json) => m.destination)).toEqual([
      '/proc',
      '/dev',
      '/sys',
      '/dev/pts',
      '/dev/shm',
      '/dev/mqueue',
      '/sys/fs/cgroup',
    ]);
    expect(c.mounts.find((m: Json) => m.destination === '/sys/fs/cgroup')).toEqual({
      destination: '/sys/fs/cgroup',
      type: 'cgroup2',
      source: 'cgroup',
      options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
    });
  });

  it('makes binds without options rw,rbind,rprivate and adds rbind to given options', () => {
    const c = config(image({ binds: ['/var/log:/var/log', '/etc/ssl:/etc/ssl:ro'] }));
    const m = (d: string) => c.mounts.find((x: Json) => x.destination === d);
    expect(m('/var/log')).toEqual({ destination: '/var/log', type: 'bind', source: '/var/log', options: ['rw', 'rbind', 'rprivate'] });
    expect(m('/etc/ssl')).toEqual({ destination: '/etc/ssl', type: 'bind', source: '/etc/ssl', options: ['ro', 'rbind'] });
  });

  it('lets a mount replace a default mount at the same destination', () => {
    const c = config(image({ binds: ['/dev:/dev'], mounts: [{ type: 'cgroup', options: ['rw'] }], tmpfs: ['/run:size=1m'] }));
    const m = (d: string) => c.mounts.filter((x: Json) => x.destination === d);
    expect(m('/dev')).toEqual([{ destination: '/dev', type: 'bind', source: '/dev', options: ['rw', 'rbind', 'rprivate'] }]);
    expect(m('/sys/fs/cgroup')).toEqual([{ destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['rw'] }]);
    expect(m('/run')).toEqual([{ destination: '/run', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] }]);
  });

  it('makes /dev read-only for a read-only container', () => {
    const dev = config(image({ readonly: true })).mounts.find((x: Json) => x.destination === '/dev');
    expect(dev.options).toContain('ro');
  });
});

describe('limits, ids and the rest of linux', () => {
  it('writes rlimits, with unlimited as 2^64-1 exactly', () => {
    const b = bundleConfig(image({ rlimits: ['nofile,1024,4096', 'RLIMIT_CORE,unlimited,unlimited'] }), {}, 'service');
    expect((b.config as Json).process.rlimits[0]).toEqual({ type: 'RLIMIT_NOFILE', hard: 4096n, soft: 1024n });
    const text = configJson(b.config);
    expect(text).toContain('"hard": 18446744073709551615');
    expect(text).not.toContain('18446744073709552000');
    expect(JSON.parse(text).process.rlimits[0]).toEqual({ type: 'RLIMIT_NOFILE', hard: 4096, soft: 1024 });
  });

  it('writes strings as they are, even one that holds the digits of a rounded 2^64-1 or looks like a limit', () => {
    const env = ['X=18446744073709552000', 'Y="18446744073709552000"', 'Z=lkbuild-bigint-0:5'];
    const b = bundleConfig(
      image({ env, rlimits: ['core,unlimited,unlimited'], annotations: { '18446744073709552000': '18446744073709552000' } }),
      {},
      'service',
    );
    const text = configJson(b.config);
    const parsed = JSON.parse(text);
    expect(parsed.process.env).toEqual(['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', ...env]);
    expect(parsed.annotations).toEqual({ '18446744073709552000': '18446744073709552000' });
    expect(text).toContain('"hard": 18446744073709551615,\n');
  });

  it('resolves uid and gid names through the id map', () => {
    const b = bundleConfig(image(), withLabel({ uid: 'redis', additionalGids: ['redis', 7] }), 'service', {
      ids: new Map([['redis', 101]]),
    });
    expect((b.config as Json).process.user).toEqual({ uid: 101, gid: 0, additionalGids: [101, 7] });
    expect(() => bundleConfig(image({ uid: 'ghost' }), {}, 'service')).toThrow('uid: no container named "ghost"');
    expect(() => bundleConfig(image(), withLabel({ gid: '4294967295' }), 'service')).toThrow(
      'gid: 4294967295 is above the largest id, 4294967294',
    );
  });

  it("masks Docker's paths unless the container has CAP_SYS_ADMIN or sets its own", () => {
    expect(config(image()).linux.maskedPaths).toEqual(dockerMaskedPaths);
    expect(config(image({ capabilities: ['CAP_SYS_ADMIN'] })).linux.maskedPaths).toEqual([]);
    expect(config(image({ maskedPaths: ['/proc/kcore'] })).linux.maskedPaths).toEqual(['/proc/kcore']);
  });

  it('turns devices into device nodes and cgroup rules', () => {
    const c = config(
      image({
        devices: [
          { path: '/dev/console', type: 'c', major: 5, minor: 1, mode: '0666' },
          { path: 'all', type: 'b' },
        ],
      }),
    );
    expect(c.linux.devices).toEqual([{ path: '/dev/console', type: 'c', major: 5, minor: 1, fileMode: 0o666 }]);
    expect(c.linux.resources.devices).toEqual([
      { allow: true, type: 'c', major: 5, minor: 1, access: 'rwm' },
      { allow: true, type: 'b', access: 'rwm' },
    ]);
  });

  it('defaults cgroupsPath to the kind and name', () => {
    expect(config(image()).linux.cgroupsPath).toBe('/services/web');
    expect(config(image(), {}, 'onboot').linux.cgroupsPath).toBe('/onboot/web');
    expect(config(image({ cgroupsPath: '/x' })).linux.cgroupsPath).toBe('/x');
  });

  it('passes sysctl, hostname, annotations, propagation and id mappings through', () => {
    const c = config(
      image({
        sysctl: { 'net.ipv4.ip_forward': '1' },
        hostname: 'web1',
        uts: 'new',
        annotations: { a: 'b' },
        rootfsPropagation: 'shared',
        uidMappings: [{ hostID: 1000, containerID: 0, size: 1 }],
      }),
    );
    expect(c.linux.sysctl).toEqual({ 'net.ipv4.ip_forward': '1' });
    expect(c.hostname).toBe('web1');
    expect(c.annotations).toEqual({ a: 'b' });
    expect(c.linux.rootfsPropagation).toBe('shared');
    expect(c.linux.uidMappings).toEqual([{ hostID: 1000, containerID: 0, size: 1 }]);
  });
});

describe('runtime.json', () => {
  it('defaults restart by kind', () => {
    expect(bundleConfig(image(), {}, 'service').runtime.restart).toBe('always');
    expect(bundleConfig(image(), {}, 'onboot').runtime.restart).toBe('never');
    expect(bundleConfig(image({ restart: 'on-failure', depends: ['db'] }), {}, 'service').runtime).toMatchObject({
      restart: 'on-failure',
      depends: ['db'],
    });
  });

  it('carries mkdir, mounts, interfaces, bindNS and cgroups', () => {
    const rt = bundleConfig(
      image({
        runtime: {
          mkdir: ['/run/x'],
          mounts: [{ source: 'proc', destination: '/x/proc' }],
          interfaces: [{ name: 'eth1', peer: 'veth0' }],
          bindNS: { net: '/run/netns/x' },
          cgroups: ['x'],
        },
      }),
      {},
      'onboot',
    ).runtime;
    expect(rt).toEqual({
      restart: 'never',
      depends: [],
      mkdir: ['/run/x'],
      mounts: [{ destination: '/x/proc', type: 'proc', source: 'proc', options: [] }],
      interfaces: [{ name: 'eth1', add: 'veth', peer: 'veth0', createInRoot: false }],
      bindNS: { net: '/run/netns/x' },
      cgroups: ['x'],
    });
  });
});

describe('determinism', () => {
  it('gives the same text for the same input, whatever the key order of the YAML', () => {
    const a = image({ env: ['A=1'], capabilities: ['CAP_SYS_TIME', 'CAP_CHOWN'], binds: ['/a:/a'] });
    const b = {
      binds: ['/a:/a'],
      capabilities: ['CAP_SYS_TIME', 'CAP_CHOWN'],
      env: ['A=1'],
      image: 'nginx:1.25',
      name: 'web',
    } as ImageSpec;
    expect(configJson(bundleConfig(a, {}, 'service').config)).toBe(configJson(bundleConfig(b, {}, 'service').config));
  });
});
