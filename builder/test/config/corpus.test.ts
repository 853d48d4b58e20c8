import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildSpecToYaml, loadBuildFiles, parseBuildText } from '../../src/config/index.js';

const good = new URL('./corpus/good/', import.meta.url).pathname;
const singles = readdirSync(good).filter((f) => f.endsWith('.yml') && !f.startsWith('multi-'));

describe('realistic LinuxKit build files validate', () => {
  it('has at least ten of them', () => expect(singles.length).toBeGreaterThanOrEqual(10));

  for (const name of singles) {
    it(name, async () => {
      const spec = await loadBuildFiles([good + name]);
      expect(spec.init.length).toBeGreaterThan(0);
      // The printed form is itself a valid build file.
      const printed = buildSpecToYaml(spec);
      expect(printed).toContain('init:');
      expect(parseBuildText('printed.yml', printed).diagnostics).toEqual([]);
    });
  }
});
