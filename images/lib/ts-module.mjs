// Imports one of the init's pure TypeScript modules (such as init/src/kmodules.ts) into a
// recipe script, which Node runs as plain JavaScript: the module and the modules it imports by
// relative path are transpiled (types stripped, nothing checked; `npm run lint` checks them)
// into a scratch directory, imported from there, and the directory removed. Any other import
// ('lk', 'std', a package) is refused: those belong to the node, not to a build host.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export async function importTs(url) {
  const entry = fileURLToPath(url);
  const root = dirname(entry);
  const scratch = await mkdtemp(join(tmpdir(), 'lkbuild-ts-'));
  try {
    await transpileTree(entry, root, scratch, new Set());
    return await import(pathToFileURL(join(scratch, relative(root, entry).replace(/\.ts$/, '.js'))).href);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/** Writes `file` as JavaScript under `scratch` (at its place relative to `root`), then its relative imports. */
async function transpileTree(file, root, scratch, done) {
  if (done.has(file)) return;
  done.add(file);
  const rel = relative(root, file);
  if (rel.startsWith('..')) throw new Error(`${file}: imports from outside ${root}`);
  const source = await readFile(file, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
  });
  const out = join(scratch, rel.replace(/\.ts$/, '.js'));
  await mkdir(dirname(out), { recursive: true });
  await writeFile(out, outputText);
  for (const { fileName } of ts.preProcessFile(outputText).importedFiles) {
    if (!fileName.startsWith('./') && !fileName.startsWith('../'))
      throw new Error(`${file}: importTs takes relative imports only, not "${fileName}"`);
    await transpileTree(join(dirname(file), fileName.replace(/\.js$/, '.ts')), root, scratch, done);
  }
}
