import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadBuildFiles, parseBuildText, replaceImageRefs } from '../../src/config/index.js';

const good = new URL('./corpus/good/', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'lkbuild-config-'));

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The error lines loadBuildFiles throws for these files (it must throw a ConfigError). */
async function failure(paths: string[]): Promise<string[]> {
  const e = await loadBuildFiles(paths).then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(ConfigError);
  const ce = e as ConfigError;
  expect(ce.kind).toBe('config');
  return ce.message.split('\n');
}

describe('checks that need the file system', () => {
  it('rejects an @pkg directory that does not exist', async () => {
    const f = file('pkg-missing.yml', 'init:\n  - "@pkg:./nowhere/init"\n');
    expect(await failure([f])).toEqual([
      `${f}:2:5: @pkg:${dir}/nowhere/init: no such directory; expected a folder with an image recipe (build.yml) (paths after @pkg: are relative to the build file)`,
    ]);
  });

  it('rejects an @pkg directory without a recipe', async () => {
    const bad = new URL('./corpus/bad/', import.meta.url).pathname;
    const f = join(bad, 'pkg-no-recipe.yml');
    expect(await failure([f])).toEqual([`${f}:3:12: @pkg:${bad}pkg/no-recipe: the folder has no build.yml; expected an image recipe`]);
  });

  it('resolves @pkg relative to the build file, to an absolute directory', async () => {
    const spec = await loadBuildFiles([good + 'supervised.yml']);
    expect(spec.init).toEqual([`@pkg:${good}pkg/hello`]);
    expect(spec.services[1].image).toBe(`@pkg:${good}pkg/hello`);
  });

  it('rejects a files source that does not exist unless optional', async () => {
    const f = file('source.yml', 'files:\n  - path: etc/a\n    source: a.txt\n  - path: etc/b\n    source: b.txt\n    optional: true\n');
    expect(await failure([f])).toEqual([
      `${f}:3:13: files: source ${dir}/a.txt does not exist (relative sources are relative to the build file; set optional: true if it may be absent)`,
    ]);
  });

  it('rejects a files source that is a directory', async () => {
    const f = file('source-dir.yml', 'files:\n  - path: etc/conf\n    source: conf\n');
    const copy = join(dir, 'conf');
    mkdirSync(copy, { recursive: true });
    expect(await failure([f])).toEqual([
      `${f}:3:13: files: source ${copy} is not a regular file; expected a file (use directory: true for an empty directory)`,
    ]);
  });

  it('reports a build file that does not exist', async () => {
    expect(await failure([join(dir, 'nope.yml')])).toEqual([`${dir}/nope.yml:1:1: cannot read build file: no such file`]);
  });

  it('refuses a file over the size cap before parsing it', async () => {
    const f = file('huge.yml', `init: []\n# ${'x'.repeat(4 * 1024 * 1024)}\n`);
    expect(await failure([f])).toEqual([`${f}:1:1: file is ${4 * 1024 * 1024 + 12} bytes; expected at most 4194304 bytes`]);
  });
});

describe('names across the whole build', () => {
  it('rejects a repeated service name in one file', async () => {
    const f = file('dup.yml', 'services:\n  - name: web\n    image: a\n  - name: web\n    image: b\n');
    expect(await failure([f])).toEqual([`${f}:4:11: duplicate service name "web"; names must be unique (first defined at ${f}:2:11)`]);
  });

  it('rejects a service name repeated by a later file', async () => {
    const a = file('dup-a.yml', 'services:\n  - name: web\n    image: a\n');
    const b = file('dup-b.yml', 'init: [x]\nservices:\n  - name: web\n    image: b\n');
    expect(await failure([a, b])).toEqual([`${b}:3:11: duplicate service name "web"; names must be unique (first defined at ${a}:2:11)`]);
  });

  it('rejects a repeated volume name', async () => {
    const f = file('dupvol.yml', 'volumes:\n  - name: data\n  - name: data\n    readonly: true\n');
    expect(await failure([f])).toEqual([`${f}:3:11: duplicate volume name "data"; names must be unique (first defined at ${f}:2:11)`]);
  });

  it('allows repeated onboot names, as LinuxKit does', async () => {
    const f = file('onboot-twice.yml', 'onboot:\n  - name: mount\n    image: m\n  - name: mount\n    image: m\n');
    expect((await loadBuildFiles([f])).onboot).toHaveLength(2);
  });

  it('rejects depends on a service that does not exist', async () => {
    const f = file('dep.yml', 'services:\n  - name: db\n    image: a\n  - name: app\n    image: b\n    depends: [dbb]\n');
    expect(await failure([f])).toEqual([`${f}:6:15: depends: no service named "dbb"; expected the name of a service (did you mean "db"?)`]);
  });

  it('rejects services that depend on each other in a cycle', async () => {
    const f = file('cycle.yml', 'services:\n  - name: a\n    image: x\n    depends: [b]\n  - name: b\n    image: x\n    depends: [a]\n');
    expect(await failure([f])).toEqual([`${f}:4:15: services depend on each other in a cycle: a -> b -> a (remove one of these depends)`]);
  });

  it('rejects a uid naming no container', async () => {
    const f = file(
      'uid.yml',
      'services:\n  - name: redis\n    image: r\n    uid: rediss\nfiles:\n  - path: etc/x\n    contents: x\n    gid: nobody\n',
    );
    expect(await failure([f])).toEqual([
      `${f}:4:10: uid: no container named "rediss"; expected a number, "root", or the name of a container (did you mean "redis"?)`,
      `${f}:8:10: gid: no container named "nobody"; expected a number, "root", or the name of a container`,
    ]);
  });

  it('rejects a numeric uid or gid string beyond 32 bits', async () => {
    const f = file(
      'bigid.yml',
      'services:\n  - name: redis\n    image: r\n    gid: "4294967295"\nfiles:\n  - path: etc/x\n    contents: x\n    uid: "99999999999"\n',
    );
    expect(await failure([f])).toEqual([
      `${f}:4:10: gid: 4294967295 is above the largest id, 4294967294`,
      `${f}:8:10: uid: 99999999999 is above the largest id, 4294967294`,
    ]);
  });

  it('gives containers ids from 100 in onboot, onshutdown, services order', async () => {
    const spec = await loadBuildFiles([good + 'redis-os.yml']);
    // dhcpcd (onboot) is 100, redis (services) is 101.
    expect(spec.services[0]).toMatchObject({ uid: 101, gid: 101, additionalGids: [100, 100] });
    expect(spec.files[0]).toMatchObject({ uid: 101, gid: 101, mode: '0600' });
  });
});

describe('several files merge in order', () => {
  it('lets later kernel fields win and appends lists', async () => {
    const spec = await loadBuildFiles([good + 'multi-base.yml', good + 'multi-extra.yml']);
    expect(spec.kernel).toEqual({
      image: 'linuxkit/kernel:6.6.13',
      cmdline: 'console=ttyS0 lk.debug',
      binary: 'kernel',
      tar: 'kernel.tar',
    });
    expect(spec.init).toHaveLength(2);
    expect(spec.services.map((s) => s.name)).toEqual(['getty', 'sshd']);
    // sshd's uid names dhcpcd, an onboot container of the first file.
    expect(spec.services[1].uid).toBe(100);
    expect(spec.files.map((f) => f.path)).toEqual(['etc/issue']);
  });

  it('reports problems of every file in one error', async () => {
    const a = file('many-a.yml', 'kernal: {}\n');
    const b = file('many-b.yml', 'services:\n  - name: x\n    image: y\n    pid: hots\n');
    expect(await failure([a, b])).toEqual([
      `${a}:1:1: unknown key "kernal" in the top level (did you mean "kernel"?)`,
      `${b}:4:10: pid: "hots" is not a namespace; expected "host", "root", "new" or an absolute path to a namespace file`,
    ]);
  });

  it('needs a kernel image once all files are merged', async () => {
    const f = file('cmdline-only.yml', 'kernel:\n  cmdline: quiet\n');
    expect(await failure([f])).toEqual([`${f}:2:3: kernel: missing required key "image"`]);
  });
});

describe('YAML as LinuxKit reads it', () => {
  it('merges `<<: *anchor` keys and treats empty keys as unset', async () => {
    const spec = await loadBuildFiles([good + 'anchors.yml']);
    expect(spec.onboot).toEqual([
      { name: 'one', image: 'alpine:3.20', capabilities: ['CAP_NET_ADMIN'], command: ['true'] },
      { name: 'two', image: 'alpine:3.20', capabilities: ['CAP_NET_ADMIN'], command: ['true'] },
    ]);
    expect(spec.services).toEqual([]);
  });
});

describe('files entries get LinuxKit defaults', () => {
  it('fills modes, resolves sources and keeps symlinks and directories', async () => {
    const spec = await loadBuildFiles([good + 'metadata.yml', good + 'static-ip.yml']);
    const byPath = Object.fromEntries(spec.files.map((f) => [f.path, f]));
    expect(byPath['etc/linuxkit.yml']).toEqual({ path: 'etc/linuxkit.yml', metadata: 'yaml', mode: '0600' });
    expect(byPath['etc/motd']).toMatchObject({ mode: '0644', uid: 0, gid: 0 });
    expect(byPath['usr/local/bin/hello']).toEqual({ path: 'usr/local/bin/hello', symlink: '/bin/busybox' });
    expect(byPath['var/empty']).toEqual({ path: 'var/empty', directory: true, mode: '0700' });
    expect(byPath['etc/resolv.conf'].source).toBe(`${good}conf/resolv.conf`);
    // An unquoted 0644 is octal, as LinuxKit users mean it.
    expect(byPath['etc/hostname'].mode).toBe('0644');
    // static-ip.yml's kernel sets image and cmdline only; binary and tar stay as metadata.yml set them.
    expect(spec.kernel).toEqual({ image: 'linuxkit/kernel:6.6.13', cmdline: 'console=ttyS0', binary: 'bzImage', tar: 'none' });
  });

  it('reads an empty kernel tar as "none"', async () => {
    const f = file('notar.yml', 'kernel:\n  image: k\n  tar: ""\n');
    expect((await loadBuildFiles([f])).kernel?.tar).toBe('none');
  });
});

describe('resource limits', () => {
  it('rejects a YAML bomb quickly and with bounded memory', () => {
    const lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 10; i++)
      lines.push(
        `a${i}: &a${i} [${Array(9)
          .fill(`*a${i - 1}`)
          .join(',')}]`,
      );
    lines.push('init: *a9');
    const before = process.memoryUsage().heapUsed;
    const start = performance.now();
    const result = parseBuildText('bomb.yml', lines.join('\n') + '\n');
    const elapsed = performance.now() - start;
    expect(result.diagnostics.map((d) => `${d.line}:${d.column}: ${d.message}`)).toEqual([
      '2:10: too many alias expansions (more than 1000); a file that expands aliases this much is refused',
    ]);
    expect(elapsed).toBeLessThan(1000);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('validates a 500-service file well under a second', async () => {
    const services = Array.from({ length: 500 }, (_, i) =>
      [
        `  - name: svc${i}`,
        `    image: registry.example/app${i}:1.0`,
        '    capabilities: [CAP_NET_BIND_SERVICE, CAP_CHOWN]',
        '    binds: [/var/lib/app:/data, /etc/resolv.conf:/etc/resolv.conf:ro]',
        '    rlimits: ["nofile,1024,4096"]',
        '    env: [MODE=prod]',
        i > 0 ? `    depends: [svc${i - 1}]` : '    restart: on-failure',
      ].join('\n'),
    );
    const f = file('big.yml', `init: [linuxkit/init:v1]\nservices:\n${services.join('\n')}\n`);
    await loadBuildFiles([f]); // warm: compiles the schema once
    // CPU time as well as wall time: other work on a busy machine stretches the latter.
    const cpuBefore = process.cpuUsage();
    const start = performance.now();
    const spec = await loadBuildFiles([f]);
    const elapsed = performance.now() - start;
    const cpu = process.cpuUsage(cpuBefore);
    const cpuMs = (cpu.user + cpu.system) / 1000;
    expect(spec.services).toHaveLength(500);
    console.log(`validated 500 services in ${elapsed.toFixed(1)} ms (${cpuMs.toFixed(1)} ms CPU)`);
    expect(cpuMs).toBeLessThan(600);
    expect(elapsed).toBeLessThan(1000);
  });
});

describe('replaceImageRefs', () => {
  it('maps every image reference and leaves the spec as it was', async () => {
    const spec = await loadBuildFiles([good + 'supervised.yml']);
    const mapped = replaceImageRefs(spec, (r) => (r.startsWith('@pkg:') ? 'lkbuild/hello:abc' : r));
    expect(mapped.init).toEqual(['lkbuild/hello:abc']);
    expect(mapped.services.map((s) => s.image)).toEqual(['postgres:16-alpine', 'lkbuild/hello:abc', 'alpine:3.20']);
    expect(spec.init[0]).toMatch(/^@pkg:\//);
  });
});

describe('device modes', () => {
  it('reads an unquoted 0666 as octal and passes it on as a string', async () => {
    const spec = await loadBuildFiles([good + 'getty.yml']);
    expect(spec.services[0].devices?.map((d) => d.mode)).toEqual(['0666', '0666', undefined]);
  });
});

describe('files paths', () => {
  it('rejects the same path twice, at the second entry, naming the first', async () => {
    const f = file(
      'files-dup.yml',
      'files:\n  - path: etc/motd\n    contents: a\n  - path: etc/issue\n    contents: b\n  - path: etc/motd\n    contents: c\n',
    );
    expect(await failure([f])).toEqual([
      `${f}:6:11: files: duplicate path "etc/motd"; each path may appear once (first defined at ${f}:2:11)`,
    ]);
  });

  for (const spelling of ['/etc/motd', 'etc//motd', './etc/motd', 'etc/motd/', 'etc/./motd']) {
    it(`treats "${spelling}" as etc/motd`, async () => {
      const f = file('files-dup-norm.yml', `files:\n  - path: etc/motd\n    contents: a\n  - path: "${spelling}"\n    contents: b\n`);
      expect(await failure([f])).toEqual([
        `${f}:4:11: files: duplicate path "${spelling}" (the same path as "etc/motd"); each path may appear once (first defined at ${f}:2:11)`,
      ]);
    });
  }

  it('rejects a path repeated by a later build file', async () => {
    const a = file('files-a.yml', 'files:\n  - path: etc/hostname\n    contents: a\n');
    const b = file('files-b.yml', 'init: [x]\nfiles:\n  - path: /etc/hostname\n    contents: b\n');
    expect(await failure([a, b])).toEqual([
      `${b}:3:11: files: duplicate path "/etc/hostname" (the same path as "etc/hostname"); each path may appear once (first defined at ${a}:2:11)`,
    ]);
  });

  it('rejects an entry inside a file entry, wherever the file entry is', async () => {
    const f = file(
      'files-parent.yml',
      [
        'files:',
        '  - path: etc/ssh/sshd_config/extra',
        '    contents: x',
        '  - path: etc/ssh/sshd_config',
        '    contents: y',
        '  - path: etc/ssl',
        '    symlink: /usr/share/ssl',
        '  - path: etc/ssl/certs/ca.pem',
        '    contents: z',
        '',
      ].join('\n'),
    );
    expect(await failure([f])).toEqual([
      `${f}:2:11: files: "etc/ssh/sshd_config/extra" is inside "etc/ssh/sshd_config", which is a file, not a directory (defined at ${f}:4:11) (make "etc/ssh/sshd_config" a directory with directory: true, or move "etc/ssh/sshd_config/extra")`,
      `${f}:8:11: files: "etc/ssl/certs/ca.pem" is inside "etc/ssl", which is a symlink, not a directory (defined at ${f}:6:11) (make "etc/ssl" a directory with directory: true, or move "etc/ssl/certs/ca.pem")`,
    ]);
  });

  it('accepts entries inside a directory entry', async () => {
    const f = file(
      'files-dir.yml',
      'files:\n  - path: etc/app\n    directory: true\n  - path: /etc/app/conf\n    contents: x\n  - path: etc/app/sub/deeper\n    contents: y\n',
    );
    expect((await loadBuildFiles([f])).files.map((x) => x.path)).toEqual(['etc/app', '/etc/app/conf', 'etc/app/sub/deeper']);
  });

  it('finds a duplicate among thousands of entries', async () => {
    const entries = Array.from({ length: 5000 }, (_, i) => `  - path: srv/d${i % 50}/f${i}\n    contents: x`);
    const f = file('files-many.yml', `files:\n${entries.join('\n')}\n  - path: srv/d7/f7\n    contents: again\n`);
    expect(await failure([f])).toEqual([
      `${f}:10002:11: files: duplicate path "srv/d7/f7"; each path may appear once (first defined at ${f}:16:11)`,
    ]);
  });
});

describe('binds that name volumes', () => {
  const volumes = 'volumes:\n  - name: data\n  - name: config\n    readonly: true\n';

  it('rejects a bind of an unknown volume, suggesting the nearest name', async () => {
    const f = file(
      'vol-unknown.yml',
      `${volumes}services:\n  - name: web\n    image: nginx:1.25\n    binds:\n      - /etc/resolv.conf:/etc/resolv.conf\n      - dta:/data\n`,
    );
    expect(await failure([f])).toEqual([
      `${f}:10:9: binds: no volume named "dta"; a bind source that is not an absolute path names a volume (did you mean "data"?)`,
    ]);
  });

  it('names the defined volumes when none is close, and says how to define one when there are none', async () => {
    const a = file('vol-far.yml', `${volumes}onboot:\n  - name: init-db\n    image: alpine:3.20\n    binds.add: [scratchpad:/tmp/x]\n`);
    expect(await failure([a])).toEqual([
      `${a}:8:17: binds.add: no volume named "scratchpad"; a bind source that is not an absolute path names a volume (defined volumes: data, config)`,
    ]);
    const b = file('vol-none.yml', 'services:\n  - name: web\n    image: nginx:1.25\n    binds: ["var/lib:/var/lib"]\n');
    expect(await failure([b])).toEqual([
      `${b}:4:13: binds: no volume named "var/lib"; a bind source that is not an absolute path names a volume (define it under volumes:, or give an absolute path to bind a host directory)`,
    ]);
  });

  it('checks bind mounts written out in full', async () => {
    const f = file(
      'vol-mount.yml',
      `${volumes}onshutdown:\n  - name: save\n    image: alpine:3.20\n    mounts:\n      - type: bind\n        source: confg\n        destination: /cfg\n        options: [rbind, ro]\n`,
    );
    expect(await failure([f])).toEqual([
      `${f}:10:17: mounts: no volume named "confg"; a bind source that is not an absolute path names a volume (did you mean "config"?)`,
    ]);
  });

  it('refuses to bind a read-only volume read-write', async () => {
    const f = file('vol-rw.yml', `${volumes}services:\n  - name: web\n    image: nginx:1.25\n    binds:\n      - config:/etc/app:rw\n`);
    expect(await failure([f])).toEqual([
      `${f}:9:9: binds: volume "config" is read-only and cannot be bound read-write (defined at ${f}:3:11) (use the option ro, or drop readonly: true from the volume)`,
    ]);
  });

  it('accepts volumes defined in another build file, and read-only binds of read-only volumes', async () => {
    const a = file('vol-def.yml', volumes);
    const b = file(
      'vol-use.yml',
      'init: [x]\nservices:\n  - name: web\n    image: nginx:1.25\n    binds: ["data:/data", "config:/etc/app:ro", "config:/etc/app2"]\n',
    );
    const spec = await loadBuildFiles([a, b]);
    expect(spec.volumes.map((v) => [v.name, v.readonly ?? false])).toEqual([
      ['data', false],
      ['config', true],
    ]);
    expect(spec.services[0].binds).toEqual(['data:/data', 'config:/etc/app:ro', 'config:/etc/app2']);
  });
});
