import { describe, expect, test } from 'vitest';
import { compareVersions, parseVersion, satisfiesVersion } from '../../src/pkg/debian/version.js';

const sign = (n: number): number => Math.sign(n) + 0; // + 0 turns -0 into 0

describe('Debian version comparison (policy 5.6.12)', () => {
  // [a, b, expected sign of compare(a, b)]
  test.each([
    ['1.0', '1.0', 0],
    ['1.0', '1.1', -1],
    ['1.10', '1.9', 1], // numeric, not lexical
    ['1.001', '1.1', 0], // leading zeros do not count
    ['1.0-1', '1.0-2', -1],
    ['1.0-10', '1.0-9', 1],
    ['1.0', '1.0-0', 0], // absent revision equals "0"
    ['1.0~rc1', '1.0', -1], // ~ sorts before the end
    ['1.0~rc1', '1.0~rc2', -1],
    ['1.0~~', '1.0~', -1],
    ['1.0~', '1.0', -1],
    ['1.0~rc1-1', '1.0-1', -1],
    ['1.0a', '1.0', 1],
    ['1.0a', '1.0+', -1], // letters before non-letters
    ['1.0+', '1.0.', -1], // '+' (43) before '.' (46)
    ['1.0-1+b1', '1.0-1', 1], // binNMU
    ['1.0-1~bpo1', '1.0-1', -1], // backport
    ['1:1.0', '2.0', 1], // epoch wins
    ['0:1.0', '1.0', 0],
    ['2:0.1', '1:9.9', 1],
    ['1.2.3-1-2', '1.2.3-1-1', 1], // revision after the last hyphen
    ['1:1.35.0-4+b3', '1:1.35.0-4+deb12u1+b1', -1],
    ['2.36-9+deb12u14', '2.36-9+deb12u9', 1],
    ['3.0.22-1~deb12u2', '3.0.22-1', -1],
    ['99999999999999999999', '99999999999999999998', 1], // beyond 2^53
    ['1.0.0', '1.0', 1],
    ['a', 'b', -1],
    ['1.0', '1.0.0~', -1], // the end of a string sorts before '.', even when a '~' follows later
  ])('compare(%s, %s) is %i', (a, b, expected) => {
    expect(sign(compareVersions(a, b))).toBe(expected);
    expect(sign(compareVersions(b, a))).toBe(-expected + 0);
  });

  test('sorting a list gives Debian order', () => {
    const sorted = ['1.0', '1.0~rc1', '1:0.5', '1.0-1', '0.9', '1.0+dfsg-1', '1.0~~a'].sort(compareVersions);
    expect(sorted).toEqual(['0.9', '1.0~~a', '1.0~rc1', '1.0', '1.0-1', '1.0+dfsg-1', '1:0.5']);
  });

  test('parseVersion splits epoch, upstream, revision', () => {
    expect(parseVersion('1:2.3-4-5')).toEqual({ epoch: 1, upstream: '2.3-4', revision: '5' });
    expect(parseVersion('2.3')).toEqual({ epoch: 0, upstream: '2.3', revision: '' });
  });

  test.each([
    ['1.0', '>=', '1.0', true],
    ['1.0', '>>', '1.0', false],
    ['1.1', '>>', '1.0', true],
    ['1.0', '<<', '1.0', false],
    ['0.9', '<<', '1.0', true],
    ['1.0', '<=', '1.0', true],
    ['1.0', '=', '1.0-0', true],
    ['1.0', '=', '1.0-1', false],
    ['1.0', '<', '1.0', true], // deprecated '<' means '<='
    ['1.0', '>', '1.0', true],
  ])('%s %s %s is %s', (version, op, constraint, expected) => {
    expect(satisfiesVersion(version, op, constraint)).toBe(expected);
  });
});
