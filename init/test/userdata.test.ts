import { describe, expect, it } from 'vitest';
import { parseMetaData, planProvisioning, userdataKind, utf8Decode, type ProviderData, type ProvisionPlan } from '../src/userdata.js';

const KEY_A = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA one@host';
const KEY_B = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ two@host';

function plan(data: Partial<ProviderData>): ProvisionPlan {
  const r = planProvisioning({ provider: 'test', sshKeys: [], ...data });
  if (!r.ok) throw new Error(`unexpected refusal: ${r.error}`);
  return r.plan;
}

function refusal(userdata: string): string {
  const r = planProvisioning({ provider: 'test', sshKeys: [], userdata });
  if (r.ok) throw new Error('expected the user data to be refused');
  return r.error;
}

const files = (p: ProvisionPlan) => Object.fromEntries(p.config.map((f) => [f.path, [f.content, f.mode.toString(8)]]));

describe('user data kinds', () => {
  it('tells cloud-config, LinuxKit JSON, raw data and nothing apart', () => {
    expect(userdataKind('#cloud-config\nhostname: a\n')).toBe('cloud-config');
    expect(userdataKind('  {"a": {"content": "b"}}')).toBe('linuxkit-json');
    expect(userdataKind('#!/bin/sh\necho hi\n')).toBe('raw');
    expect(userdataKind('#cloud-configuration\n')).toBe('raw');
    expect(userdataKind(' \n')).toBe('none');
  });
});

describe('planProvisioning', () => {
  it("writes the platform's host name and keys in LinuxKit's layout", () => {
    const p = plan({ hostname: 'ip-10-0-0-5', sshKeys: [KEY_A, ''] });
    expect(files(p)).toEqual({
      hostname: ['ip-10-0-0-5\n', '644'],
      provider: ['test\n', '644'],
      'ssh/authorized_keys': [`${KEY_A}\n`, '600'],
    });
    expect(p.configDirs).toEqual(['ssh']);
    expect(p.hostname).toBe('ip-10-0-0-5');
    expect(p.format).toBe('none');
  });

  it('keeps raw user data as /run/config/userdata and acts on nothing in it', () => {
    const p = plan({ userdata: '#!/bin/sh\nhostname: nope\n' });
    expect(files(p).userdata).toEqual(['#!/bin/sh\nhostname: nope\n', '644']);
    expect(p.format).toBe('raw');
    expect(p.hostname).toBeUndefined();
  });

  it('turns LinuxKit JSON into one file or directory per key, user data winning over the platform', () => {
    const userdata = JSON.stringify({
      hostname: { content: 'from-userdata' },
      ssh: { entries: { authorized_keys: { perm: '0600', content: KEY_B } } },
      app: { entries: { 'config.json': { content: '{"x":1}', perm: '0640' }, empty: { entries: {} } } },
    });
    const p = plan({ hostname: 'from-platform', sshKeys: [KEY_A], userdata });
    expect(files(p)).toMatchObject({
      hostname: ['from-userdata', '644'],
      'ssh/authorized_keys': [KEY_B, '600'],
      'app/config.json': ['{"x":1}', '640'],
      userdata: [userdata, '644'],
    });
    expect(p.configDirs).toEqual(['ssh', 'app', 'app/empty']);
    expect(p.hostname).toBe('from-userdata');
    expect(p.format).toBe('linuxkit-json');
  });

  it("applies cloud-config hostname, ssh_authorized_keys (added to the platform's) and write_files", () => {
    const userdata = `#cloud-config
hostname: web-1
ssh_authorized_keys:
  - ${KEY_B}
  - ${KEY_A}
write_files:
  - path: /etc/motd
    content: |
      welcome
    permissions: "0640"
  - path: /var/lib/app/blob
    encoding: b64
    content: 3q2+7w==
packages: [nginx]
runcmd:
  - echo hi
`;
    const p = plan({ hostname: 'ip-1', sshKeys: [KEY_A], userdata });
    expect(files(p)['ssh/authorized_keys']).toEqual([`${KEY_A}\n${KEY_B}\n`, '600']);
    expect(p.hostname).toBe('web-1');
    expect(p.writeFiles).toEqual([
      { path: '/etc/motd', content: 'welcome\n', mode: 0o640 },
      { path: '/var/lib/app/blob', content: '\xde\xad\xbe\xef', mode: 0o644, binary: true },
    ]);
    expect(p.ignoredKeys).toEqual(['packages', 'runcmd']);
  });

  it('decodes base64 that is UTF-8 text as text', () => {
    const content = Buffer.from('héllo\n', 'utf8').toString('base64');
    const p = plan({ userdata: `#cloud-config\nwrite_files:\n  - path: /run/x\n    encoding: base64\n    content: ${content}\n` });
    expect(p.writeFiles).toEqual([{ path: '/run/x', content: 'héllo\n', mode: 0o644 }]);
  });
});

describe('malformed user data is refused whole, saying what is wrong', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['JSON that does not parse', '{"ssh": ', /starts with "\{" but is not valid JSON/],
    ['an entry that escapes /run/config', JSON.stringify({ '..': { content: 'x' } }), /"\.\." is not a usable file name/],
    ['a name with a slash', JSON.stringify({ 'a/b': { content: 'x' } }), /not a usable file name/],
    ['content and entries together', JSON.stringify({ a: { content: 'x', entries: {} } }), /both "content" and "entries"/],
    ['content that is not a string', JSON.stringify({ a: { content: 5 } }), /"content" must be a string/],
    ['a bad permission', JSON.stringify({ a: { content: 'x', perm: 'rw-r--r--' } }), /not an octal mode/],
    ['an invalid host name', '#cloud-config\nhostname: "bad host!"\n', /hostname "bad host!" is not a valid host name/],
    ['YAML this parser refuses', '#cloud-config\nhostname: &a x\n', /cloud-config is not valid YAML.*line 2/],
    ['keys that are not a list', '#cloud-config\nssh_authorized_keys: ssh-rsa AAA\n', /must be a list of keys/],
    [
      'write_files outside /etc, /run, /var',
      '#cloud-config\nwrite_files:\n  - path: /usr/bin/x\n    content: y\n',
      /\/usr\/bin\/x is outside \/etc\/, \/run\/, \/var\//,
    ],
    ['write_files with ..', '#cloud-config\nwrite_files:\n  - path: /etc/../usr/x\n', /has empty, "\." or "\.\." parts/],
    ['write_files twice to one path', '#cloud-config\nwrite_files:\n  - path: /etc/a\n  - path: /etc/a\n', /names \/etc\/a twice/],
    ['an owner other than root', '#cloud-config\nwrite_files:\n  - path: /etc/a\n    owner: www-data\n', /owner www-data is not supported/],
    ['bad base64', '#cloud-config\nwrite_files:\n  - path: /etc/a\n    encoding: b64\n    content: "!!!"\n', /not valid base64/],
    ['an unknown write_files key', '#cloud-config\nwrite_files:\n  - path: /etc/a\n    defer: true\n', /defer not supported/],
  ];
  for (const [name, userdata, message] of cases) {
    it(name, () => {
      expect(refusal(userdata)).toMatch(message);
    });
  }

  it('keeps a top-level JSON array raw: LinuxKit reads only objects as its format', () => {
    expect(plan({ userdata: '[1]' }).format).toBe('raw');
  });

  it('refuses a JSON value that is not an object', () => {
    expect(refusal('{"a": [1]}')).toMatch(/must be an object with "content" or "entries"/);
  });

  it('refuses user data over 1 MiB', () => {
    expect(refusal('x'.repeat(1024 * 1024 + 1))).toMatch(/at most 1048576 are accepted/);
  });
});

describe('NoCloud meta-data', () => {
  it('reads local-hostname and public-keys from YAML or JSON', () => {
    expect(parseMetaData('instance-id: i-1\nlocal-hostname: node-a\npublic-keys:\n  - ssh-rsa AAA\n')).toEqual({
      hostname: 'node-a',
      sshKeys: ['ssh-rsa AAA'],
    });
    expect(parseMetaData('{"local-hostname": "node-b", "public-keys": {"k": "ssh-ed25519 BBB"}}')).toEqual({
      hostname: 'node-b',
      sshKeys: ['ssh-ed25519 BBB'],
    });
    expect(parseMetaData('')).toEqual({ sshKeys: [] });
  });

  it('refuses meta-data that is not a mapping', () => {
    expect(() => parseMetaData('- a\n')).toThrow(/meta-data must be a mapping/);
  });
});

describe('utf8Decode', () => {
  it('decodes UTF-8 bytes held as Latin-1 code units, and refuses what is not UTF-8', () => {
    expect(utf8Decode(Buffer.from('héllo ✓\n', 'utf8').toString('latin1'))).toBe('héllo ✓\n');
    expect(utf8Decode('\xde\xad\xbe\xef')).toBeUndefined();
    expect(utf8Decode('')).toBe('');
  });
});
