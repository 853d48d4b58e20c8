// The small parsers the cloud code trusts with answers from the network and the console.
import { describe, expect, test } from 'vitest';
import { consoleDelta } from '../../src/cloud/console.js';
import { xmlText, xmlTexts } from '../../src/cloud/xml.js';
import { LkError } from '../../src/errors.js';

describe('xml', () => {
  test('element text in document order, the predefined entities and character references decoded', () => {
    const xml =
      '<R><item><imageId>ami-1</imageId></item><item><imageId>ami-&#50;</imageId><name>a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; &#x41;</name></item></R>';
    expect(xmlTexts(xml, 'imageId')).toEqual(['ami-1', 'ami-2']);
    expect(xmlText(xml, 'name')).toBe('a <b> & "c" \'d\' A');
    expect(xmlText(xml, 'missing')).toBeUndefined();
  });
  test('elements with markup inside are not text', () => {
    expect(xmlTexts('<a><b>x</b></a>', 'a')).toEqual([]);
  });
  test('a DTD or an entity declaration is refused', () => {
    for (const xml of ['<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>', '<r><!ENTITY lol "lol"></r>']) {
      expect(() => xmlText(xml, 'r')).toThrow(LkError);
    }
  });
  test('unknown entities stay as they are', () => {
    expect(xmlText('<a>&nbsp;&x;</a>', 'a')).toBe('&nbsp;&x;');
  });
});

describe('consoleDelta (EC2 gives the latest output as a whole)', () => {
  test.each([
    ['', 'a\n', 'a\n'],
    ['a\n', 'a\nb\n', 'b\n'],
    ['a\nb\n', 'a\nb\n', ''],
    ['a\nb\nc\n', 'b\nc\nd\n', 'd\n'], // the window moved on, overlapping
    ['a\n', 'x\ny\n', 'x\ny\n'], // nothing in common
  ])('%j then %j prints %j', (seen, now, want) => expect(consoleDelta(seen, now)).toBe(want));
  test('a long console whose window moved on: only the lines after what was seen', () => {
    const lines = Array.from({ length: 3000 }, (_, i) => `line ${i}\n`);
    const seen = lines.slice(0, 2000).join('');
    const now = lines.slice(1000, 2500).join('');
    expect(consoleDelta(seen, now)).toBe(lines.slice(2000, 2500).join(''));
  });
});
