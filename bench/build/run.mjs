#!/usr/bin/env node
// Warm build time: `lkbuild build examples/node.yml` with every image already in the cache,
// against `gzip -6` of the same uncompressed cpio (the initrd decompressed), interleaved in the
// same run so that load from other work affects both alike. Prints the medians and the summary
// line `build lkbuild/gzip <ratio>`.
// Usage: node bench/build/run.mjs [--file examples/node.yml] [--rounds 3] [-- extra build options]
import { createReadStream, createWriteStream, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { createGunzip } from 'node:zlib';
import { buildNode, median, run, scratchDir, summary, timed } from '../lib.mjs';

const { values, positionals } = parseArgs({
  options: { file: { type: 'string', default: 'examples/node.yml' }, rounds: { type: 'string', default: '3' } },
  allowPositionals: true,
});
const out = scratchDir('build');
const base = await buildNode([values.file], out, positionals); // warms the cache
const cpio = join(out, 'root.cpio');
await pipeline(createReadStream(`${base}-initrd.img`), createGunzip(), createWriteStream(cpio));
console.log(`initrd ${statSync(`${base}-initrd.img`).size} bytes, uncompressed cpio ${statSync(cpio).size} bytes`);
const times = { build: [], gzip: [] };
for (let r = 0; r < Number(values.rounds); r++) {
  times.build.push(await timed(() => buildNode([values.file], out, positionals)));
  times.gzip.push(await timed(() => run('sh', ['-c', 'gzip -6 -c "$1" > "$1.gz"', 'sh', cpio])));
  console.log(`round ${r + 1}: lkbuild build ${times.build[r].toFixed(3)} s, gzip -6 ${times.gzip[r].toFixed(3)} s`);
}
const build = median(times.build);
const gzip = median(times.gzip);
console.log(`lkbuild build ${build.toFixed(3)} s, gzip -6 ${gzip.toFixed(3)} s (medians)`);
summary('build', 'lkbuild/gzip', (build / gzip).toFixed(3));
