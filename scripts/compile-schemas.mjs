// ajv's standalone code for the JSON schemas in builder/dist, so a run loads validators instead
// of compiling them (builder/src/util/schema-validators.ts uses them while they match the schema).
import { readFileSync, writeFileSync } from 'node:fs';
import standaloneCode from 'ajv/dist/standalone/index.js';
import { buildFileSchemaSpec } from '../builder/dist/config/schema.js';
import { recipeSchemaSpec } from '../builder/dist/pkg/recipe.js';
import { compileValidators, generatedPath, schemaDigest, schemaId } from '../builder/dist/util/schema-validators.js';

for (const spec of [buildFileSchemaSpec, recipeSchemaSpec]) {
  const text = readFileSync(spec.schema, 'utf8');
  const schema = JSON.parse(text);
  const { ajv } = compileValidators(spec, schema, { code: { source: true } });
  const id = schemaId(schema);
  const names = Object.fromEntries(Object.entries(spec.refs).map(([name, ref]) => [name, `${id}${ref}`]));
  const code = standaloneCode.default(ajv, names);
  const exported = Object.keys(spec.refs)
    .map((n) => `${n}: exports.${n}`)
    .join(', ');
  const footer = `\nexports.digest = ${JSON.stringify(schemaDigest(text))};\nexports.validators = { ${exported} };\n`;
  writeFileSync(generatedPath(spec.schema), `${code}${footer}`);
}
