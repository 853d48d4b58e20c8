// tsc compiles only TypeScript; the JSON schemas next to the sources must travel to dist/ too.
import { cpSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const src = new URL('../builder/src/', import.meta.url).pathname;
const dist = new URL('../builder/dist/', import.meta.url).pathname;

function walk(dir) {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else if (name.endsWith('.json')) cpSync(path, join(dist, relative(src, path)));
  }
}
walk(src);
