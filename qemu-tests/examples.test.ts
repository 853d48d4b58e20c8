// The quick start must not rot: examples/minimal.yml and examples/node.yml are built with the
// real CLI and booted with `lkbuild run qemu` (a real process). The checks are generic, read
// from each file itself: it boots, every onboot container runs, every service starts, ready.
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { serviceEvents } from './init-helpers.js';

const repo = resolve(import.meta.dirname, '..');
const cli = join(repo, 'builder/bin/lkbuild.js');

async function namesIn(file: string, section: 'onboot' | 'services'): Promise<string[]> {
  const doc = parse(await readFile(file, 'utf8')) as Record<string, { name: string }[] | undefined>;
  return (doc[section] ?? []).map((s) => s.name);
}

describe.each(['minimal', 'node'])('examples/%s.yml', (name) => {
  test('builds and boots to ready with every container of the file', async () => {
    const file = join(repo, 'examples', `${name}.yml`);
    const out = await mkdtemp(join(tmpdir(), `lk-example-${name}-`));
    const build = await execa('node', [cli, 'build', '-o', out, file], { reject: false, all: true });
    expect(build.exitCode, build.all).toBe(0);
    expect(build.stdout.split('\n').sort()).toEqual(
      [`${name}-cmdline`, `${name}-initrd.img`, `${name}-kernel`, `${name}.spdx.json`].map((f) => join(out, f)),
    );

    // Powers off once ready; QEMU runs with -no-reboot, so the process ends there.
    const run = await execa(
      'node',
      [cli, 'run', 'qemu', '--accel', 'tcg', '--mem', '512', '--append', 'lk.poweroff=ready', join(out, name)],
      {
        reject: false,
        all: true,
        timeout: 240_000,
        stdin: 'ignore',
      },
    );
    const console = (run.all ?? '').replace(/\r/g, '');
    expect(run.timedOut, console).toBe(false);
    expect(run.exitCode, console).toBe(0);

    const readyAt = console.indexOf('\nlk-init: ready ');
    expect(readyAt, console).toBeGreaterThan(0);
    const before = console.slice(0, readyAt + 1);
    // Every onboot container ran (its exit code is its own business on a bare QEMU machine), none
    // failed to start, and the init met no exception of its own.
    for (const onboot of await namesIn(file, 'onboot')) {
      expect(before, onboot).toMatch(new RegExp(`^lk-init: onboot ${onboot} exit=\\d+ `, 'm'));
      expect(before, onboot).not.toMatch(new RegExp(`^lk-init: onboot ${onboot}: `, 'm'));
    }
    expect(console).not.toMatch(/^lk-init: error in /m);
    const services = await namesIn(file, 'services');
    expect(
      serviceEvents(before, undefined, 'started')
        .map((e) => e.name)
        .sort(),
    ).toEqual([...services].sort());
    expect(console).toContain('lk-init: shutdown ');
    expect(console).toContain('reboot: Power down');
  });
});
