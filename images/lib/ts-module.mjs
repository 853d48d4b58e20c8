// Imports a TypeScript module that has no imports of its own (such as the init's pure
// init/src/kmodules.ts) into a recipe script, which Node runs as plain JavaScript: the source
// is transpiled in memory (types stripped, nothing checked; `npm run lint` checks it).
import { readFile } from 'node:fs/promises';
import ts from 'typescript';

export async function importTs(url) {
  const source = await readFile(url, 'utf8');
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
  });
  if (/^\s*import\s/m.test(outputText)) throw new Error(`${url}: importTs takes modules without imports`);
  return import(`data:text/javascript;base64,${Buffer.from(outputText).toString('base64')}`);
}
