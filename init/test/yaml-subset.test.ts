import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parseYamlSubset, YamlError } from '../src/yaml-subset.js';

// Documents in the subset we accept: the yaml package (a full YAML parser) is the reference.
const accepted: Record<string, string> = {
  'cloud-config': `#cloud-config
hostname: node-1   # trailing comment
ssh_authorized_keys:
  - ssh-ed25519 AAAAC3Nza one@host
  - "ssh-rsa AAAAB3 two@host"
write_files:
  - path: /etc/motd
    content: |
      line one
        indented
      line three
    permissions: '0640'
  - path: /var/lib/app/config
    encoding: b64
    content: aGVsbG8K
`,
  "sequence at its key's indentation": `keys:
- a
- 'it''s'
other: x
`,
  'block scalars and chomping': `keep: |+
  text

strip: >-
  folded
  words

  new paragraph
clip: >
  one
  two
`,
  'flow sequence, quotes, escapes, nulls': `list: [a, "b c", 'd']
dq: "tab\\there \\u00e9"
empty:
tilde: ~
url: http://example.com:8080/path
---not-a-marker: x
`,
  'nested mappings and sequences of sequences': `a:
  b:
    c: deep
  d:
    - - x
      - y
    - z
`,
};

describe('parseYamlSubset agrees with a full YAML parser on the subset', () => {
  for (const [name, text] of Object.entries(accepted)) {
    it(name, () => {
      expect(parseYamlSubset(text)).toEqual(parseYaml(text));
    });
  }

  it('keeps every scalar a string (no YAML 1.1 guessing of numbers or booleans)', () => {
    expect(parseYamlSubset('mode: 0644\nflag: yes\nn: 12\n')).toEqual({ mode: '0644', flag: 'yes', n: '12' });
  });

  it('reads an empty document and a leading --- as YAML does', () => {
    expect(parseYamlSubset('# only a comment\n')).toBeNull();
    expect(parseYamlSubset('---\nhostname: a\n')).toEqual({ hostname: 'a' });
  });
});

describe('parseYamlSubset refuses what it does not understand, with the line', () => {
  const refused: Array<[string, string, RegExp]> = [
    ['an anchor', 'a: &x 1\nb: *x\n', /line 1: "&"/],
    ['a flow mapping', 'a: {b: 1}\n', /line 1: "\{"/],
    ['a tag', 'a: !!binary aGk=\n', /line 1: "!"/],
    ['a multi-line plain scalar', 'a: one\n  two\n', /line 2: a value continues/],
    ['an unterminated quote', 'a: "open\nb: 1\n', /line 1: a double-quoted scalar must end/],
    ['a duplicate key', 'a: 1\na: 2\n', /line 2: key "a" appears twice/],
    ['a tab in indentation', 'a:\n\t- b\n', /line 2: a tab/],
    ['bad indentation', 'a: 1\n   b: 2\n', /line 2/],
    ['an unknown escape', 'a: "\\q"\n', /unknown escape/],
    ['a mapping inside a value', 'a: b: c\n', /line 1: .*looks like a mapping/],
  ];
  for (const [name, text, message] of refused) {
    it(name, () => {
      expect(() => parseYamlSubset(text)).toThrow(YamlError);
      expect(() => parseYamlSubset(text)).toThrow(message);
    });
  }

  it('refuses nesting deeper than 32 levels instead of recursing without end', () => {
    const deep = Array.from({ length: 40 }, (_, i) => `${' '.repeat(i)}k:`).join('\n') + ' v\n';
    expect(() => parseYamlSubset(deep)).toThrow(/deeper than 32/);
  });
});
