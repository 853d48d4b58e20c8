// Shared assertions of the output-format boot tests, whose cases all run one onboot container
// named `hello` and power off once ready.
import { expect } from 'vitest';
import { markers, type BootResult } from './harness.js';

/** The node booted to ready, `hello` exited 0, and the machine powered off cleanly. */
export function expectHelloBoot(r: BootResult): void {
  expect(r.timedOut, r.output).toBe(false);
  expect(r.exitCode, r.output).toBe(0);
  const m = markers(r.output);
  expect(m.map((x) => x.event)).toContain('ready');
  expect(m.filter((x) => x.event === 'onboot').map((x) => [x.name, x.fields.exit])).toEqual([['hello', '0']]);
  expect(r.output).toContain('reboot: Power down');
}
