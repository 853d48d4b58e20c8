import { describe, expect, it } from 'vitest';
import { startOrder } from '../src/order.js';

describe('startOrder', () => {
  it('keeps input order when there are no dependencies', () => {
    expect(
      startOrder([
        { name: 'b', depends: [] },
        { name: 'a', depends: [] },
      ]),
    ).toEqual({
      order: ['b', 'a'],
      problems: [],
      waitFor: new Map([
        ['b', []],
        ['a', []],
      ]),
    });
  });

  it('starts dependencies first', () => {
    const { order, problems } = startOrder([
      { name: 'app', depends: ['db', 'cache'] },
      { name: 'db', depends: [] },
      { name: 'cache', depends: ['db'] },
    ]);
    expect(order).toEqual(['db', 'cache', 'app']);
    expect(problems).toEqual([]);
  });

  it('reports unknown and self dependencies but still starts everything', () => {
    const { order, problems } = startOrder([
      { name: 'a', depends: ['ghost', 'a'] },
      { name: 'b', depends: [] },
    ]);
    expect(order).toEqual(['a', 'b']);
    expect(problems).toEqual(['service a depends on unknown service ghost', 'service a depends on itself']);
  });

  it('appends services in a cycle after the others', () => {
    const { order, problems } = startOrder([
      { name: 'x', depends: ['y'] },
      { name: 'y', depends: ['x'] },
      { name: 'z', depends: [] },
      { name: 'w', depends: ['x'] },
    ]);
    expect(order).toEqual(['z', 'x', 'y', 'w']);
    expect(problems).toEqual(['dependency cycle between services: x, y, w']);
  });

  it('lets each service wait only for its own known dependencies, so independent ones start together', () => {
    const { waitFor } = startOrder([
      { name: 'app', depends: ['db', 'cache', 'nosuch'] },
      { name: 'db', depends: [] },
      { name: 'cache', depends: [] },
      { name: 'web', depends: ['web'] },
    ]);
    expect(Object.fromEntries(waitFor)).toEqual({ db: [], cache: [], app: ['db', 'cache'], web: [] });
  });

  it('does not let a service in a cycle wait for one placed after it', () => {
    const { order, waitFor } = startOrder([
      { name: 'a', depends: ['b'] },
      { name: 'b', depends: ['a'] },
      { name: 'c', depends: ['a'] },
    ]);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(Object.fromEntries(waitFor)).toEqual({ a: [], b: ['a'], c: ['a'] });
  });
});
