import { describe, expect, test } from 'vitest';
import { editDistance } from '../../src/util/edit-distance.js';

describe('editDistance (optimal string alignment)', () => {
  test('counts insertions, deletions and substitutions', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('abc', 'abc')).toBe(0);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('abc', '')).toBe(3);
  });

  test('counts a swap of adjacent characters as one edit', () => {
    expect(editDistance('capabilites', 'capabilities')).toBe(1);
    expect(editDistance('ab', 'ba')).toBe(1);
    expect(editDistance('busyobx', 'busybox')).toBe(1);
    // Optimal string alignment edits no substring twice: "ca" -> "abc" takes 3, not Damerau's 2.
    expect(editDistance('ca', 'abc')).toBe(3);
  });

  test('gives up at the limit with limit + 1', () => {
    expect(editDistance('abc', 'xyzxyz', 1)).toBe(2);
    expect(editDistance('abcdef', 'uvwxyz', 2)).toBe(3);
    expect(editDistance('kitten', 'sitting', 3)).toBe(3);
    expect(editDistance('kitten', 'sitting', 2)).toBe(3);
  });
});
