import { describe, expect, it } from 'vitest';
import { importTs } from './ts-module.mjs';

describe('importTs', () => {
  it('imports a pure init module with the modules it imports by relative path (kmodules.ts and words.ts)', async () => {
    const kmodules = await importTs(new URL('../../init/src/kmodules.ts', import.meta.url));
    expect(kmodules.moduleName(' nf-conntrack ')).toBe('nf_conntrack');
    expect(kmodules.parseModulesDep('kernel/a.ko: kernel/b.ko  kernel/c.ko\n').get('a').deps).toEqual(['b', 'c']);
  });

  it("refuses a module that imports the node's runtime ('std', 'lk')", async () => {
    await expect(importTs(new URL('../../init/src/sys.ts', import.meta.url))).rejects.toThrow(
      /sys\.ts: importTs takes relative imports only, not "std"/,
    );
  });
});
