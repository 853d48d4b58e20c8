// Every CLI command as a real process: its exit code (0, 1 for errors, 2 for usage), its stdout
// and its stderr, which never holds a stack trace. Registry commands run against a
// docker-registry started here, with a private cache. (Boots: qemu-tests/examples.test.ts.)
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Readable } from 'node:stream';
import tar from 'tar-stream';
import { commitImage, writeLayer } from '../../src/oci/image-store.js';
import { OciLayout } from '../../src/oci/layout.js';
import { makeImageLayout, skopeoPush } from '../registry/helpers/images.js';
import { startRegistry, type RunningRegistry } from '../registry/helpers/registry-server.js';

const repo = resolve(import.meta.dirname, '../../..');
const cli = join(repo, 'builder/bin/lkbuild.js');

interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

async function lkbuild(args: string[], env: Record<string, string> = {}): Promise<Ran> {
  const r = await execa('node', [cli, ...args], {
    reject: false,
    stripFinalNewline: false,
    env: { DOCKER_CONFIG: emptyDockerConfig, ...env },
  });
  // A stack trace is never what a user sees.
  expect(r.stderr, r.stderr).not.toMatch(/^\s+at /m);
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

let emptyDockerConfig: string;
let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lk-cli-proc-'));
  emptyDockerConfig = join(work, 'docker');
  await mkdir(emptyDockerConfig);
});

describe('usage', () => {
  test.each([
    [[], /usage: lkbuild <command>/],
    [['frobnicate'], /lkbuild: unknown command "frobnicate"/],
    [['build'], /build needs at least one build file/],
    [['build', '--bogus', 'x.yml'], /Unknown option '--bogus'/],
    [['validate'], /validate needs at least one build file/],
    [['run', 'vmware', 'x'], /unknown run target "vmware"/],
    [['run', 'qemu', '--accel', 'warp', 'x'], /--accel: "warp" is not auto, kvm or tcg/],
    [['pkg', 'make', 'x'], /usage: lkbuild pkg build DIR/],
    [['cache', 'frobnicate'], /unknown cache command/],
  ])('lkbuild %j exits 2 with the problem and the usage', async (args, message) => {
    const r = await lkbuild(args as string[]);
    expect(r.code).toBe(2);
    expect(args.length ? r.stderr : r.stdout).toMatch(message); // bare `lkbuild` prints the usage alone
  });

  test('lkbuild help prints the usage on stdout and exits 0', async () => {
    const r = await lkbuild(['help']);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    for (const cmd of [
      'build',
      'validate',
      'run qemu',
      'pkg build',
      'cache ls',
      'cache pull',
      'cache rm',
      'cache clean',
      'cache import',
      'cache export',
      'push',
    ]) {
      expect(r.stdout).toContain(`  ${cmd} `);
    }
  });
});

describe('validate, build, run qemu and pkg build', () => {
  test('validate a good file: the merged file on stdout, nothing on stderr', async () => {
    const r = await lkbuild(['validate', join(repo, 'examples/minimal.yml')]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^onboot:\n {2}- name: hello\n/m);
  });

  test('validate a bad file: every problem with file:line:column, exit 1', async () => {
    const bad = join(work, 'bad.yml');
    await writeFile(bad, 'onboot:\n  - name: a\n    image: busybox:1\n    capabilities: [CAP_NET_ADMN]\nservics: []\n');
    const r = await lkbuild(['validate', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain(`${bad}:4:`);
    expect(r.stderr).toContain('CAP_NET_ADMN');
    expect(r.stderr).toContain('CAP_NET_ADMIN');
    expect(r.stderr).toContain(`${bad}:5:1`);
    expect(r.stderr).toContain('services');
  });

  test('a reader that closes early (lkbuild ... | head) ends it quietly with 141, as SIGPIPE would', async () => {
    const child = spawn('node', [cli, 'validate', join(repo, 'examples/node.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy(); // closed before the command writes a byte: its first write fails with EPIPE
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((r) => child.on('close', r));
    expect(stderr).toBe('');
    expect(code).toBe(141);
  });

  test('validate a missing file names it, exit 1', async () => {
    const r = await lkbuild(['validate', join(work, 'nope.yml')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('nope.yml');
  });

  test('build: a good file writes its output; a bad one writes nothing', async () => {
    const good = join(work, 'small.yml');
    await writeFile(
      good,
      `init:\n  - "@pkg:${repo}/images/init"\nonboot:\n  - name: hi\n    image: "@pkg:${repo}/images/busybox"\n    command: ["/bin/echo", "hi"]\n`,
    );
    const out = join(work, 'out');
    const ok = await lkbuild(['build', '-o', out, '-f', 'tar', good]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toBe(`${join(out, 'small.tar')}\n${join(out, 'small.spdx.json')}\n`);
    expect(ok.stderr).toMatch(/lkbuild: done in [\d.]+s\n$/);

    const bad = join(work, 'broken.yml');
    await writeFile(bad, `onboot:\n  - name: hi\n    image: "@pkg:${repo}/images/no-such-recipe"\n`);
    const badOut = join(work, 'bad-out');
    const r = await lkbuild(['build', '-o', badOut, bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no-such-recipe');
    expect(await readdir(badOut).catch(() => [])).toEqual([]);
  });

  test('run qemu on a missing build names the file it looked for, exit 1', async () => {
    const r = await lkbuild(['run', 'qemu', join(work, 'none')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${join(work, 'none')}-kernel does not exist`);
  });

  test('pkg build prints the reference of the recipe image; a missing recipe is an error', async () => {
    const ok = await lkbuild(['pkg', 'build', join(repo, 'images/busybox')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^lkbuild\/busybox:[0-9a-f]{12,}\n$/);
    const r = await lkbuild(['pkg', 'build', join(work, 'no-recipe')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('no-recipe');
  });
});

describe('cache and push against a real registry', () => {
  let registry: RunningRegistry;
  let cache: string;
  let ref: string;
  let digest: string;
  const env = () => ({ LKBUILD_CACHE: cache });

  beforeAll(async () => {
    registry = await startRegistry();
    const { layout, image } = await makeImageLayout('src/app:1', 2, 64 << 10);
    ref = `${registry.host}/cli/app:1`;
    digest = image.manifestDescriptor.digest;
    await skopeoPush(layout.root, 'src/app:1', ref);
    cache = join(work, 'cache');
  });
  afterAll(async () => registry?.stop());

  test('pull, ls, export, rm, import, push and clean, each a process', async () => {
    const pull = await lkbuild(['cache', 'pull', ref], env());
    expect(pull.code, pull.stderr).toBe(0);
    expect(pull.stdout).toContain(digest);

    const ls = await lkbuild(['cache', 'ls'], env());
    expect(ls.code).toBe(0);
    expect(ls.stdout).toMatch(new RegExp(`^${ref.replace(/[.]/g, '\\.')}\\s+${digest.slice(0, 19)}`, 'm'));
    expect((await lkbuild(['cache', 'ls', '-q'], env())).stdout).toBe(`${ref}\n`);

    const file = join(work, 'app.tar');
    expect((await lkbuild(['cache', 'export', ref, file], env())).code).toBe(0);
    const inspected = JSON.parse((await execa('skopeo', ['inspect', `oci-archive:${file}:${ref}`])).stdout);
    expect(inspected.Digest).toBe(digest);

    expect(await lkbuild(['cache', 'rm', ref], env())).toMatchObject({ code: 0, stdout: `removed ${ref}\n` });
    const again = await lkbuild(['cache', 'rm', ref], env());
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${ref} is not in the local cache`);

    expect(await lkbuild(['cache', 'import', file], env())).toMatchObject({ code: 0, stdout: `${ref}\n` });
    const copy = `${registry.host}/cli/copy:2`;
    const push = await lkbuild(['push', ref, copy], env());
    expect(push.code, push.stderr).toBe(0);
    expect(push.stdout).toBe(`${copy}@${digest}\n`);
    expect(JSON.parse((await execa('skopeo', ['inspect', '--tls-verify=false', `docker://${copy}`])).stdout).Digest).toBe(digest);

    expect((await lkbuild(['cache', 'rm', ref], env())).code).toBe(0);
    const clean = await lkbuild(['cache', 'clean', '--min-age', '0'], env());
    expect(clean.code).toBe(0);
    expect(clean.stdout).toMatch(/^removed 4 blobs/); // manifest, config, two layers
    expect(await readdir(join(cache, 'blobs/sha256'))).toEqual([]);
  });

  test('an image imported under a short name (--name acme/app:1) is what a build naming it uses', async () => {
    const file = join(work, 'short-name.tar');
    expect((await lkbuild(['cache', 'pull', ref], env())).code).toBe(0);
    expect((await lkbuild(['cache', 'export', ref, file], env())).code).toBe(0);
    const own = { LKBUILD_CACHE: join(work, 'short-name-cache') };
    expect(await lkbuild(['cache', 'import', '--name', 'acme/app:1', file], own)).toMatchObject({ code: 0, stdout: 'acme/app:1\n' });
    const yml = join(work, 'short-name.yml');
    await writeFile(yml, 'onboot:\n  - name: app\n    image: acme/app:1\n');
    // No registry answers for acme/app (docker.io is out of reach here): the build must not ask one.
    const built = await lkbuild(['build', '-o', join(work, 'short-name-out'), '-f', 'tar', yml], own);
    expect(built.code, built.stderr).toBe(0);
    expect(await readdir(join(work, 'short-name-out'))).toContain('short-name.tar');
  });

  test('errors: a missing image, a missing file, an unreachable registry', async () => {
    const missing = await lkbuild(['cache', 'pull', `${registry.host}/cli/none:1`], env());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`${registry.host}/cli/none:1`);
    const noFile = await lkbuild(['cache', 'import', join(work, 'none.tar')], env());
    expect(noFile.code).toBe(1);
    expect(noFile.stderr).toContain('none.tar');
    const notCached = await lkbuild(['push', 'nope/x:1'], env());
    expect(notCached.code).toBe(1);
    expect(notCached.stderr).toContain('nope/x:1 is not in the local cache');
    const closed = await lkbuild(['cache', 'pull', '--timeout', '5', '127.0.0.1:1/cli/app:1'], env());
    expect(closed.code).toBe(1);
    expect(closed.stderr).toContain('127.0.0.1:1');
  });
});

describe('a hostile layer through the CLI', () => {
  /** A cache holding one image whose only layer has `name`. */
  async function hostileCache(name: string): Promise<string> {
    const cache = await mkdtemp(join(work, 'hostile-'));
    const pack = tar.pack();
    pack.entry({ name: 'ok', mode: 0o644 }, 'fine');
    pack.entry({ name, mode: 0o644 }, 'x');
    pack.finalize();
    const layout = new OciLayout(cache);
    await layout.init();
    const layer = await writeLayer(layout, Readable.from(pack as AsyncIterable<Buffer>));
    await commitImage(layout, 'docker.io/evil/layer:1', [layer], { architecture: 'amd64', os: 'linux', config: { Cmd: ['/ok'] } });
    return cache;
  }

  test.each([
    ['../../escaped', /leaves its root/],
    ['.wh.', /whiteout \/\.wh\. names no file/],
    ['etc/.wh...', /names no file/],
    ['../.wh..wh..opq', /leaves its root/],
  ])('%s: exit 1, the image named, nothing written', async (name, message) => {
    const cache = await hostileCache(name);
    const yml = join(cache, 'node.yml');
    await writeFile(yml, 'onboot:\n  - name: evil\n    image: evil/layer:1\n');
    const out = join(cache, 'out');
    const r = await lkbuild(['build', '-o', out, '-f', 'tar', yml], { LKBUILD_CACHE: cache });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain('evil/layer:1');
    expect(await readdir(out).catch(() => [])).toEqual([]);
    expect((await readdir(join(cache, '..'))).filter((n) => n === 'escaped' || n === 'ok')).toEqual([]);
  });
});
