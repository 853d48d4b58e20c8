// Boot tests of provisioning with bad or missing input: malformed user data is refused with one
// clear line and nothing written; with no provider at all the node says so once and boots.
import { beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, markers, type BootResult } from './harness.js';
import { tagged } from './init-helpers.js';

describe('metadata with malformed user data, and with no provider', () => {
  let malformed: BootResult;
  let none: BootResult;

  beforeAll(async () => {
    const base = await buildCase('provision');
    malformed = await boot(base, { args: ['--data', '#cloud-config\nhostname: ok\nssh_authorized_keys: [unclosed\n'], timeoutMs: 300_000 });
    // No NIC: no metadata server can answer, whatever network the host is on.
    none = await boot(base, { args: ['--networking', 'none'], timeoutMs: 300_000 });
  }, 900_000);

  const metadataLines = (r: BootResult) => r.output.split('\n').filter((l) => l.startsWith('metadata: '));

  test('malformed user data: one line naming the problem and its line, exit 1, nothing written, the node still boots', () => {
    expect(malformed.timedOut, malformed.output).toBe(false);
    expect(metadataLines(malformed)).toEqual([
      expect.stringMatching(
        /^metadata: user data from nocloud:\/dev\/vd[a-z] is malformed: cloud-config is not valid YAML .*line 3: a flow sequence \(\[\.\.\.\]\) must end on the same line; nothing was written$/,
      ),
    ]);
    const m = markers(malformed.output);
    expect(m.find((x) => x.event === 'onboot' && x.name === 'metadata')?.fields.exit).toBe('1');
    expect(tagged(malformed.output, 'CONFIG')).toEqual([]);
    expect(tagged(malformed.output, 'HOSTNAME')).not.toEqual(['ok']);
    expect(m.map((x) => x.event)).toContain('ready');
  });

  test('no provider: one line naming every provider tried and why it is not there, exit 0, the node boots', () => {
    expect(none.timedOut, none.output).toBe(false);
    expect(metadataLines(none)).toEqual([
      expect.stringMatching(
        /^metadata: no provider answered \(nocloud: no volume labelled cidata; aws: .+; gcp: .+; file:\/etc\/lk\/user-data: no such file\); the node boots without provisioning$/,
      ),
    ]);
    const m = markers(none.output);
    expect(m.find((x) => x.event === 'onboot' && x.name === 'metadata')?.fields.exit).toBe('0');
    expect(tagged(none.output, 'CONFIG')).toEqual([]);
    expect(m.map((x) => x.event)).toContain('ready');
  });
});
