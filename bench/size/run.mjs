#!/usr/bin/env node
// Sizes: every output format of examples/minimal.yml and examples/node.yml, and from each
// build's initrd the OS part (the init binary, which is also lkctl, plus lk-run) and each system
// image (the bytes its container's rootfs adds to the initrd: a file shared by hard link between
// images is counted once, in the last image that holds it). Prints them and the summary line
// `size os-part-bytes <bytes>` (of node.yml).
// Usage: node bench/size/run.mjs [--file F]...
import { readFileSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { buildNode, formatGroups, run, scratchDir, summary } from '../lib.mjs';

const { values } = parseArgs({
  options: { file: { type: 'string', multiple: true, default: ['examples/minimal.yml', 'examples/node.yml'] } },
});

/** name -> data size of each entry of a newc cpio archive (hard-linked names after the first: 0). */
function cpioSizes(buf) {
  const sizes = new Map();
  for (let at = 0; at + 110 <= buf.length; ) {
    const field = (i) => parseInt(buf.toString('ascii', at + 6 + 8 * i, at + 14 + 8 * i), 16);
    const [size, nameLen] = [field(6), field(11)];
    const name = buf.toString('utf8', at + 110, at + 110 + nameLen - 1);
    if (name === 'TRAILER!!!') break;
    sizes.set(name, size);
    at += Math.ceil((110 + nameLen) / 4) * 4;
    at += Math.ceil(size / 4) * 4;
  }
  return sizes;
}

let osPart;
for (const file of values.file) {
  const out = scratchDir('size');
  // kernel+squashfs writes NAME-initrd.img too: it is built apart, as NAME-2.
  const [first, ...others] = await formatGroups(basename(file, extname(file)));
  const args = (g) => ['-n', g.name, ...g.formats.flatMap((f) => ['-f', f])];
  const base = await buildNode([file], out, args(first)).catch(async (e) => {
    console.log(`${file}: building all formats at once failed (${e.message.split('\n')[0]}); kernel+initrd only`);
    return buildNode([file], out);
  });
  for (const g of others) await buildNode([file], out, args(g));
  const listed = await run('ls', ['-1', out]);
  for (const name of listed.split('\n').filter(Boolean)) console.log(`${file} output ${name} ${statSync(join(out, name)).size}`);
  const sizes = cpioSizes(gunzipSync(readFileSync(`${base}-initrd.img`)));
  osPart = (sizes.get('init') ?? 0) + (sizes.get('usr/bin/lk-run') ?? 0);
  console.log(`${file} os-part ${osPart} (init ${sizes.get('init')}, lk-run ${sizes.get('usr/bin/lk-run')})`);
  const images = new Map();
  for (const [name, size] of sizes) {
    const m = /^containers\/([^/]+\/[^/]+)\/rootfs\//.exec(name);
    if (m) images.set(m[1], (images.get(m[1]) ?? 0) + size);
  }
  for (const [name, size] of images) console.log(`${file} image ${name} adds ${size}`);
  console.log(`${file} (${basename(base)}) done`);
}
if (osPart !== undefined) summary('size', 'os-part-bytes', osPart);
