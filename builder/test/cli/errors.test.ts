// How the CLI reports what a user got wrong: a usage error exits 2 with the usage, anything
// else the user can cause exits 1 with one message and a hint, never a stack trace.
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const cli = resolve(import.meta.dirname, '../../bin/lkbuild.js');
let work = '';

function lkbuild(args: string[]) {
  return execa('node', [cli, ...args], { reject: false, cwd: work, env: { LKBUILD_CACHE: join(work, 'cache'), SOURCE_DATE_EPOCH: '0' } });
}

const stackTrace = /^\s+at /m;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'lk-cli-errors-'));
  await mkdir(join(work, 'kernel'));
  await writeFile(join(work, 'kernel/build.yml'), 'name: fake-kernel\nfiles:\n  - {path: /kernel, contents: "not a real kernel\\n"}\n');
});
afterAll(async () => rm(work, { recursive: true, force: true }));

describe('usage errors exit 2 with the message and the usage', () => {
  test.each([
    [['frobnicate'], 'lkbuild: unknown command "frobnicate"'],
    [['build', '--bogus', 'x.yml'], "lkbuild: Unknown option '--bogus'"],
    [['build'], 'lkbuild: build needs at least one build file'],
    [['build', '--compression', 'lz4', 'x.yml'], 'lkbuild: --compression "lz4" is not one of gzip, zstd, none'],
    [['cache', 'pull'], 'lkbuild: '],
    [['cache', 'gc', '--timeout', 'soon'], 'lkbuild: '],
    [['run', 'qemu', '--accel', 'warp', 'out/node'], 'lkbuild: --accel: "warp" is not auto, kvm or tcg'],
    [['run', 'qemu', '--mem', 'lots', 'out/node'], 'lkbuild: --mem: "lots" is not a size'],
    [['run', 'qemu', '--cpus=0', 'out/node'], 'lkbuild: --cpus: 0 is out of range'],
  ])('lkbuild %j', async (args, start) => {
    const r = await lkbuild(args);
    expect(r.exitCode, r.stderr).toBe(2);
    expect(r.stderr.startsWith(start), r.stderr).toBe(true);
    expect(r.stderr).toContain('usage: lkbuild <command> [options]');
    expect(r.stderr).not.toMatch(stackTrace);
  });
});

describe('errors the user causes exit 1 without a stack trace', () => {
  // A /sys file: stat says 4096 bytes, reading gives a few. Both archive writers meet it.
  test.each([['kernel+initrd'], ['tar']])(
    'a files: source whose size changes while it is archived is a clear error (-f %s), and nothing is written',
    async (format) => {
      const sysFile = '/sys/devices/system/cpu/online';
      const st = await stat(sysFile);
      expect(st.size, 'sysfs reports a size that is not the content size').toBe(4096);
      const file = join(work, 'node.yml');
      await writeFile(
        file,
        ['kernel:', '  image: "@pkg:./kernel"', 'files:', '  - path: etc/cpus', `    source: ${sysFile}`, ''].join('\n'),
      );
      const out = join(work, `out-${format}`);
      const r = await lkbuild(['build', '-f', format, '-o', out, file]);
      expect(r.exitCode, r.stderr).toBe(1);
      expect(r.stderr).toMatch(
        /^lkbuild: error: \/etc\/cpus changed size while it was archived: 4096 bytes when the build began, \d+ bytes when read$/m,
      );
      expect(r.stderr).toMatch(/^ {2}hint: .*copy it to a regular file first$/m);
      expect(r.stderr).not.toMatch(stackTrace);
      expect(await readdir(out).catch(() => [])).toEqual([]);
    },
  );

  test('a recipe whose files clash is a clear error naming the recipe and the path', async () => {
    await mkdir(join(work, 'clash'));
    await writeFile(
      join(work, 'clash/build.yml'),
      'name: clash\nfiles:\n  - {path: /etc, contents: "a file"}\n  - {path: /etc/motd, contents: hi}\n',
    );
    const r = await lkbuild(['pkg', 'build', join(work, 'clash')]);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr).toContain(`lkbuild: error: ${join(work, 'clash/build.yml')}: files: cannot place /etc/motd: `);
    expect(r.stderr).not.toMatch(stackTrace);
  });
});
