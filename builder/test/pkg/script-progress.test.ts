// The status of a running recipe script, from its output and the objects in its work directory.
import { mkdir, mkdtemp, symlink, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { commandSummary, countObjects, formatElapsed, ScriptProgress } from '../../src/pkg/script-progress.js';

// The output of a real kernel build by images/kernel (make -s: no compile lines), as logged in
// ~/.cache/lkbuild/logs/lkbuild-kernel.log.
const kernelLog = readFileSync(new URL('./fixtures/kernel-build.log', import.meta.url), 'utf8');

/** Feeds `text` in pieces that split lines anywhere. */
function feed(p: ScriptProgress, text: string, piece = 37): void {
  for (let i = 0; i < text.length; i += piece) p.output(text.slice(i, i + piece));
}

test('the recorded kernel build: each step is the command it runs, without paths and options', () => {
  const p = new ScriptProgress('recipe kernel', 0);
  const third = kernelLog.split('\n').slice(0, 3).join('\n');
  feed(p, `${third}\n`);
  expect(p.render(65_000)).toBe('recipe kernel: 1m05s, make bzImage modules');
  feed(p, kernelLog.slice(third.length + 1));
  // the last command the log shows is the tar of the modules
  expect(p.render(576_000)).toBe('recipe kernel: 9m36s, tar lib');
});

test('objects come from the work directory, with the last build as the total', () => {
  const p = new ScriptProgress('recipe kernel', 1_000, 2103);
  expect(p.render(1_000)).toBe('recipe kernel: 0/~2103 objects, 0s');
  p.foundObjects(1234);
  expect(p.render(193_000)).toBe('recipe kernel: 1234/~2103 objects, 3m12s');
});

test("compile lines in kbuild's format count as objects when a build prints them", () => {
  const p = new ScriptProgress('recipe busybox', 0);
  feed(p, '$ make -j2 all\n  CC      kernel/fork.o\n  HOSTCC  scripts/basic/fixdep\n  CC [M]  drivers/net/dummy.o\n', 5);
  feed(p, '  AS      arch/x86/entry/entry_64.o\n  LD      vmlinux.o\n  CC      init/main.o'); // last line not ended yet
  expect(p.objects()).toBe(3);
  p.output('\n');
  expect(p.objects()).toBe(4);
  p.foundObjects(2); // the files found lag behind the output: the larger count wins
  expect(p.render(5_000)).toBe('recipe busybox: 4 objects, 5s, make all');
});

test('command summaries and elapsed times', () => {
  expect(commandSummary('/usr/bin/make -s -C /src O=/out ARCH=x86_64 -j2 bzImage modules')).toBe('make bzImage modules');
  expect(commandSummary("find /x -name $'*.ko'")).toBe('find');
  expect(formatElapsed(59.9)).toBe('59s');
  expect(formatElapsed(600)).toBe('10m00s');
  expect(formatElapsed(3725)).toBe('1h02m');
});

test('countObjects counts *.o files at any depth, not through symlinks, and nothing for a missing directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'lk-objects-'));
  await mkdir(join(dir, 'a/b'), { recursive: true });
  for (const f of ['x.o', 'a/y.o', 'a/b/z.o', 'a/b/z.o.cmd', 'a/b/w.c']) await writeFile(join(dir, f), '');
  await symlink(join(dir, 'a'), join(dir, 'source')); // as kbuild links the build tree to the sources
  await symlink(join(dir, 'x.o'), join(dir, 'link.o'));
  expect(await countObjects(dir)).toBe(3);
  expect(await countObjects(join(dir, 'absent'))).toBe(0);
});
