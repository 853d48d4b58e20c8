import { join, resolve } from 'node:path';
import { execa } from 'execa';

const repo = resolve(import.meta.dirname, '..');

/**
 * Builds the recipes every boot case uses (the kernel among them: 5-10 minutes on a cold cache)
 * once, through the real CLI, before any boot test file runs. Without this, whichever file
 * happens to run first pays for the kernel inside its own hook timeout.
 */
export default async function setup(): Promise<void> {
  for (const recipe of ['kernel', 'init', 'busybox']) {
    const r = await execa('node', [join(repo, 'builder/bin/lkbuild.js'), 'pkg', 'build', join(repo, 'images', recipe)], {
      reject: false,
      all: true,
    });
    if (r.exitCode !== 0) throw new Error(`lkbuild pkg build images/${recipe} failed (${r.exitCode}):\n${r.all}`);
  }
}
