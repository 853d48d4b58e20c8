// The CLI as builder/bin/lkbuild.js runs it: tsc's output (builder/dist) bundled with the
// packages it uses into builder/dist/bundle. Node resolves, reads and compiles an ES module per
// file, and undici's parts one CommonJS file each; a command that reached the network loaded
// about 80 files before its first request. Code split at the CLI's dynamic imports, so a
// command still loads only what it runs (a chunk per lazily imported part, shared code in
// common chunks). Module-relative files (schemas, the CLI's entry) are found through
// builder/src/own-files.ts, which the LKBUILD_BUNDLED definition points one folder up.
import { rmSync } from 'node:fs';
import { build } from 'esbuild';

const dist = new URL('../builder/dist/', import.meta.url).pathname;
const outdir = `${dist}bundle`;

rmSync(outdir, { recursive: true, force: true });
await build({
  entryPoints: { cli: `${dist}cli/main.js` },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  define: { LKBUILD_BUNDLED: 'true' },
  // undici's CommonJS files require Node's own modules; an ES module bundle has no `require`.
  banner: {
    js: "import { createRequire as lkbuildCreateRequire } from 'node:module';\nconst require = lkbuildCreateRequire(import.meta.url);",
  },
  legalComments: 'inline',
  logLevel: 'warning',
});
