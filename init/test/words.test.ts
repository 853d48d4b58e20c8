import { describe, expect, it } from 'vitest';
import { words } from '../src/words.js';

describe('words', () => {
  it('splits single-spaced text as is', () => {
    expect(words('alias pci:v00008086d0000100Esv*sd*bc*sc*i* e1000')).toEqual(['alias', 'pci:v00008086d0000100Esv*sd*bc*sc*i*', 'e1000']);
    expect(words('one')).toEqual(['one']);
  });

  it('splits at runs of ASCII whitespace and drops empty words', () => {
    expect(words('  a\t\tb \r\n c\v\fd  ')).toEqual(['a', 'b', 'c', 'd']);
    expect(words('cpuset cpu io memory pids\n')).toEqual(['cpuset', 'cpu', 'io', 'memory', 'pids']);
    expect(words('a  b')).toEqual(['a', 'b']);
  });

  it('returns no words for empty or blank text', () => {
    expect(words('')).toEqual([]);
    expect(words(' \t\n')).toEqual([]);
  });

  it('keeps other characters, non-ASCII spaces included, inside words', () => {
    expect(words('a\u00a0b c')).toEqual(['a\u00a0b', 'c']);
    expect(words('x=1,y="2"')).toEqual(['x=1,y="2"']);
  });
});
