import { readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { buildSpecToYaml, loadBuildFiles, parseBuildText, type BuildSpec } from '../../src/config/index.js';

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
      // ... and reads back as exactly the spec it printed.
      expect(parseBuildText('printed.yml', printed).source.value).toEqual(plain(spec));
    });
  }
});

/** The spec as plain data, as a YAML reader would give it back: no undefined fields, no empty sections. */
function plain(spec: BuildSpec): unknown {
  const v = JSON.parse(JSON.stringify(spec)) as Record<string, unknown>;
  for (const k of Object.keys(v)) if (Array.isArray(v[k]) && (v[k] as unknown[]).length === 0) delete v[k];
  return v;
}

describe('the printed build file', () => {
  it('quotes every string that YAML would read as something else, and nothing that reads back as itself', () => {
    const tricky = [
      'true',
      'No',
      'on',
      'y',
      '~',
      'null',
      '0644',
      '1.0',
      '-v',
      '.inf',
      '@pkg:/x',
      'a: b',
      'x:',
      '#c',
      'a #b',
      "it's",
      '"q"',
      '',
      ' lead',
      'trail ',
      'line\nbreak',
      '\u007f',
      '\u2028',
      '[a]',
      '{a}',
      '*a',
      '&a',
      '!t',
      '%p',
      '|',
      '>',
      '<<',
      '?',
      ',',
      '`x`',
    ];
    const spec: BuildSpec = {
      init: [],
      onboot: [{ name: 'a', image: 'alpine:3.20', command: tricky, env: ['A=1', '/usr/bin/x', 'CAP_NET_ADMIN'] }],
      onshutdown: [],
      services: [],
      files: [],
      volumes: [],
    };
    const printed = buildSpecToYaml(spec);
    const back = parseBuildText('printed.yml', printed);
    expect(back.diagnostics).toEqual([]);
    expect(back.source.value).toEqual(plain(spec));
    // Ordinary values stay unquoted, so the output reads like a hand-written file.
    expect(printed).toContain('    image: alpine:3.20\n');
    expect(printed).toContain('      - A=1\n      - /usr/bin/x\n      - CAP_NET_ADMIN\n');
    expect(printed).toContain('      - "true"\n      - "No"\n');
  });

  it('prints numbers, booleans, empty lists and nested mappings', () => {
    const spec: BuildSpec = {
      init: ['x'],
      onboot: [],
      onshutdown: [],
      services: [
        {
          name: 's',
          image: 'i',
          oomScoreAdj: -500,
          readonly: true,
          sysctl: { 'net.ipv4.ip_forward': '1' },
          runtime: { mkdir: [], interfaces: [{ name: 'eth1', createInRoot: false }] },
        },
      ],
      files: [],
      volumes: [],
    };
    const printed = buildSpecToYaml(spec);
    expect(parseBuildText('printed.yml', printed).source.value).toEqual(plain(spec));
    expect(printed).toContain('    oomScoreAdj: -500\n    readonly: true\n    sysctl:\n      net.ipv4.ip_forward: "1"\n');
    expect(printed).toContain('      mkdir: []\n      interfaces:\n        - name: eth1\n          createInRoot: false\n');
  });
});
