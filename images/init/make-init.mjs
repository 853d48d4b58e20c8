// Shared by the init and metadata recipes: builds init/build/out/{init,metadata,lk-run} with
// init/Makefile (which also runs tsc) and returns that folder.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${process.argv[1]}: ${name} is not set (run this through the lkbuild builder)`);
    process.exit(1);
  }
  return value;
}

export function makeInit() {
  const repo = required('LK_REPO_ROOT');
  const jobs = process.env.LK_JOBS || '2';
  try {
    execFileSync('make', ['-s', `-j${jobs}`, '-C', join(repo, 'init')], { stdio: 'inherit' });
  } catch {
    console.error('building the init failed (see the make output above)');
    process.exit(1);
  }
  return join(repo, 'init', 'build', 'out');
}
