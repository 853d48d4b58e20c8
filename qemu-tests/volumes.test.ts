import { beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, markers, type BootResult } from './harness.js';

describe('volumes boot test', () => {
  let result: BootResult;

  beforeAll(async () => {
    const base = await buildCase('volumes');
    result = await boot(base, { timeoutMs: 180_000 });
  });

  test('the machine boots, runs both onboot containers and powers off', () => {
    expect(result.timedOut, result.output).toBe(false);
    expect(result.exitCode).toBe(0);
    const onboot = markers(result.output).filter((m) => m.event === 'onboot');
    expect(
      onboot.map((m) => [m.name, m.fields.exit]),
      result.output,
    ).toEqual([
      ['writer', '0'],
      ['reader', '0'],
    ]);
  });

  test('a file one onboot container writes into a volume is there for the next one', () => {
    expect(result.output).toContain('volume-writer-wrote');
    // The value is computed by the writer's shell, so only a real read can print it.
    expect(result.output).toMatch(/volume-reader-read=volume-data-42\n/);
  });

  test("a volume's image fills it", () => {
    expect(result.output).toContain('volume-seed-has-busybox');
  });

  test('a read-only bind, and any bind of a read-only volume, refuses writes', () => {
    expect(result.output).not.toContain('volume-write-allowed');
    expect(result.output).toMatch(/volume-write-refused \/data: .*Read-only file system/);
    expect(result.output).toMatch(/volume-write-refused \/seed: .*Read-only file system/);
  });
});
