import { expect, test } from 'vitest';
import { formatStages, StageClock } from '../../src/util/stage-clock.js';

/** A clock that moves only when the test says so. */
function manualClock() {
  let now = 0;
  return { now: () => now, advance: (s: number) => (now += s) };
}

test('a stage inside another counts toward the inner one only; repeated stages add up, in order of start', async () => {
  const t = manualClock();
  const heard: string[] = [];
  const clock = new StageClock((stage, seconds) => heard.push(`${stage} ${seconds}`), t.now);
  clock.declare('config', 'pull');
  await clock.time('config', async () => t.advance(0.5));
  await clock.time('assemble', async () => {
    t.advance(1);
    await clock.time('unpack', async () => t.advance(2));
    t.advance(0.25);
    await clock.time('unpack', async () => t.advance(3));
  });
  // declared stages keep their place; others take theirs as they first start
  expect(clock.stages()).toEqual([
    ['config', 0.5],
    ['pull', 0],
    ['assemble', 1.25],
    ['unpack', 5],
  ]);
  expect(heard).toEqual(['config 0.5', 'unpack 2', 'unpack 3', 'assemble 1.25']);
});

test('a stage that throws is still timed, and the error passes through', async () => {
  const t = manualClock();
  const clock = new StageClock(undefined, t.now);
  await expect(
    clock.time('compress', async () => {
      t.advance(1.5);
      throw new Error('disk full');
    }),
  ).rejects.toThrow('disk full');
  expect(clock.stages()).toEqual([['compress', 1.5]]);
});

test('the summary names each stage with seconds to two places', () => {
  expect(
    formatStages([
      ['pull', 0],
      ['recipe kernel', 312.456],
    ]),
  ).toBe('pull 0.00s, recipe kernel 312.46s');
});
