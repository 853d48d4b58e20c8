// Hints follow one style (builder/src/errors.ts): lower case, no final full stop, saying what
// to do or what was expected; the only question is "did you mean ...?". Checked over the
// source: every literal hint given to an LkError (or a subclass) and every `hint:` field.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, test } from 'vitest';

const srcRoot = resolve(import.meta.dirname, '../../src');
const errorClasses = new Set(['LkError', 'HttpStatusError', 'NetworkError', 'ConfigError']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The literal texts an expression can give: both branches of a ?:, the first and last parts of a template. */
function literalTexts(node: ts.Expression): string[] {
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return [node.text];
  if (ts.isTemplateExpression(node)) {
    const last = node.templateSpans[node.templateSpans.length - 1]!.literal.text;
    return [node.head.text === '' ? 'x' : node.head.text + 'x' + last];
  }
  if (ts.isConditionalExpression(node)) return [...literalTexts(node.whenTrue), ...literalTexts(node.whenFalse)];
  if (ts.isParenthesizedExpression(node)) return literalTexts(node.expression);
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.QuestionQuestionToken)
    return [...literalTexts(node.left), ...literalTexts(node.right)];
  return [];
}

function hints(file: string): { where: string; text: string }[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: { where: string; text: string }[] = [];
  const add = (node: ts.Expression) => {
    const line = sf.getLineAndCharacterOfPosition(node.getStart()).line + 1;
    for (const text of literalTexts(node)) out.push({ where: `${relative(srcRoot, file)}:${line}`, text });
  };
  const visit = (node: ts.Node) => {
    if (ts.isNewExpression(node) && ts.isIdentifier(node.expression) && errorClasses.has(node.expression.text) && node.arguments?.[2])
      add(node.arguments[2]);
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.SuperKeyword && node.arguments[2]) add(node.arguments[2]);
    if (ts.isPropertyAssignment(node) && ts.isIdentifier(node.name) && node.name.text === 'hint') add(node.initializer);
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function styleProblem(text: string): string | undefined {
  if (/^[A-Z][a-z]/.test(text)) return 'starts with a capital';
  if (/\.$/.test(text.trim())) return 'ends with a full stop';
  if (/\?$/.test(text.trim()) && !/^did you mean\b/.test(text)) return 'asks a question';
  return undefined;
}

describe('hints', () => {
  const all = sourceFiles(srcRoot).flatMap(hints);

  test('are found in the source (the scan works)', () => {
    expect(all.length).toBeGreaterThan(50);
    expect(all.some((h) => h.where.startsWith('assemble/node.ts') && h.text === 'set optional: true if the file may be absent')).toBe(true);
  });

  test('follow one style: lower case, no final full stop, no question but "did you mean"', () => {
    const problems = all.flatMap((h) => {
      const why = styleProblem(h.text);
      return why ? [`${h.where}: ${why}: ${JSON.stringify(h.text)}`] : [];
    });
    expect(problems).toEqual([]);
  });
});
