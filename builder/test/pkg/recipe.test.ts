import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadRecipe } from '../../src/pkg/recipe.js';
import { recipeHash } from '../../src/pkg/recipe-hash.js';

async function recipeDir(yml: string, files: Record<string, string> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'recipe-'));
  await writeFile(join(dir, 'build.yml'), yml);
  for (const [name, body] of Object.entries(files)) await writeFile(join(dir, name), body);
  return dir;
}

describe('image recipes', () => {
  test('a valid recipe loads with defaults filled in', async () => {
    const r = await loadRecipe(await recipeDir('name: tool\npackages: [busybox-static]\nconfig: {Cmd: ["/bin/sh"]}\n'));
    expect(r).toMatchObject({ name: 'tool', org: 'lkbuild', packages: ['busybox-static'], files: [], config: { Cmd: ['/bin/sh'] } });
  });

  test('unknown keys and bad values are reported together', async () => {
    const dir = await recipeDir('name: Bad Name\npackges: [x]\n');
    await expect(loadRecipe(dir)).rejects.toThrow(/must NOT have additional properties \(packges\)[\s\S]*\/name must match pattern/);
  });

  test('a missing folder, build script or input is a clear error', async () => {
    await expect(loadRecipe('/nonexistent/recipe')).rejects.toThrow(/no image recipe at/);
    await expect(loadRecipe(await recipeDir('name: x\nbuild: missing.mjs\n'))).rejects.toThrow(/build script missing.mjs does not exist/);
    await expect(loadRecipe(await recipeDir('name: x\ninputs: [../nowhere-at-all]\n'))).rejects.toThrow(/input .* does not exist/);
    await expect(loadRecipe(await recipeDir('name: x\nfiles:\n  - {path: /etc/x, source: nothere.txt}\n'))).rejects.toThrow(
      /build.yml: files\[0\]: source nothere.txt is not a file in /,
    );
  });

  test('the tag follows content: same folder same tag, any byte or the epoch changes it', async () => {
    const a = await recipeDir('name: x\nbuild: b.mjs\n', { 'b.mjs': 'console.log(1)\n' });
    const b = await mkdtemp(join(tmpdir(), 'recipe-copy-'));
    await cp(a, b, { recursive: true });
    const ra = await loadRecipe(a);
    const rb = await loadRecipe(b);
    expect(await recipeHash(ra, 0)).toBe(await recipeHash(rb, 0));
    expect(await recipeHash(ra, 1)).not.toBe(await recipeHash(ra, 0));
    await writeFile(join(b, 'b.mjs'), 'console.log(2)\n');
    expect(await recipeHash(rb, 0)).not.toBe(await recipeHash(ra, 0));
  });
});
