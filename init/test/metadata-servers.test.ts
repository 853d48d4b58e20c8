// The metadata binary against HTTP metadata servers, on the host: each run is in new network,
// UTS, mount and pid namespaces (root only), where 169.254.169.254 is on loopback and a small Node
// server answers as GCE's metadata server does (no GCE is reachable from here; the AWS provider
// is also proven in a boot against the IMDSv2 emulation, qemu-tests/provision.test.ts).
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { beforeAll, describe, expect, it } from 'vitest';

const binary = resolve(import.meta.dirname, '../build/out/metadata');
const root = process.getuid?.() === 0;

// GCE's rules: every request needs Metadata-Flavor: Google, every answer carries it.
const server = `
const http = require('node:http');
const answers = JSON.parse(process.env.ANSWERS);
http.createServer((req, res) => {
  if (req.headers['metadata-flavor'] !== 'Google') { res.writeHead(403); return res.end('Forbidden'); }
  const body = answers[req.url];
  res.writeHead(body === undefined ? 404 : 200, { 'Metadata-Flavor': 'Google', 'Content-Type': 'application/text' });
  res.end(body ?? 'Not Found');
}).listen(80, '169.254.169.254', () => console.log('LISTENING'));
`;

/** Runs `metadata ARGS` next to a server with these answers; returns what the node would see. */
async function runMetadata(answers: Record<string, string>, args: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'lk-metadata-ns-'));
  await writeFile(join(dir, 'server.cjs'), server);
  const script = [
    'set -e',
    'ip link set lo up',
    'ip addr add 169.254.169.254/32 dev lo',
    'mount -t tmpfs tmpfs /run',
    `node ${dir}/server.cjs > ${dir}/server.log 2>&1 & server=$!`,
    `for i in $(seq 50); do grep -q LISTENING ${dir}/server.log && break; sleep 0.1; done`,
    'set +e',
    `${binary} ${args.join(' ')}; echo "EXIT $?"`,
    'echo "HOST $(hostname)"',
    'find /run/config /run/gcp-test -type f 2>/dev/null | sort | while read -r f; do echo "FILE $f $(stat -c %a "$f") $(head -c 200 "$f" | tr "\\n" "|")"; done',
    'kill $server',
  ].join('\n');
  // --pid: the shell is PID 1 of its own pid namespace, so nothing it started outlives it.
  const r = await execa('unshare', ['--net', '--uts', '--mount', '--pid', '--propagation', 'private', '--fork', 'sh', '-c', script], {
    env: { ANSWERS: JSON.stringify(answers) },
    reject: false,
    timeout: 60_000,
  });
  return `${r.stdout}\n${r.stderr}`;
}

const lines = (out: string, tag: string) =>
  out
    .split('\n')
    .filter((l) => l.startsWith(`${tag} `))
    .map((l) => l.slice(tag.length + 1));

describe.skipIf(!root)('metadata binary against a GCE-style metadata server', () => {
  beforeAll(() => {
    if (!existsSync(binary)) throw new Error(`${binary} is missing: run npm run build first`);
  });

  it('takes the host name, the keys of ssh-keys and cloud-config user data', async () => {
    const base = '/computeMetadata/v1/instance';
    const out = await runMetadata(
      {
        [`${base}/hostname`]: 'gce-node.c.project.internal',
        [`${base}/attributes/ssh-keys`]: 'alice:ssh-ed25519 AAAAgce alice@laptop\nbob:ecdsa-sha2-nistp256 BBBB bob',
        [`${base}/attributes/user-data`]: '#cloud-config\nwrite_files:\n  - path: /run/gcp-test/hello\n    content: from gce\n',
      },
      ['lk.metadata=gcp'],
    );
    expect(lines(out, 'EXIT'), out).toEqual(['0']);
    expect(out).toContain('metadata: provider gcp: user data cloud-config, 4 file(s) in /run/config, 1 write_files, hostname gce-node');
    expect(lines(out, 'HOST')).toEqual(['gce-node']);
    expect(lines(out, 'FILE')).toEqual([
      '/run/config/hostname 644 gce-node|',
      '/run/config/provider 644 gcp|',
      '/run/config/ssh/authorized_keys 600 ssh-ed25519 AAAAgce alice@laptop|ecdsa-sha2-nistp256 BBBB bob|',
      '/run/config/userdata 644 #cloud-config|write_files:|  - path: /run/gcp-test/hello|    content: from gce|',
      '/run/gcp-test/hello 644 from gce',
    ]);
  });

  it("is not fooled by a server that does not say it is Google's, and says so in its one line", async () => {
    const out = await runMetadata({}, ['lk.metadata=gcp']);
    expect(lines(out, 'EXIT')).toEqual(['0']);
    expect(out).toMatch(
      /^metadata: no provider answered \(gcp: GET \/computeMetadata\/v1\/instance\/hostname: HTTP 404, not Google's metadata server\); the node boots without provisioning$/m,
    );
    expect(lines(out, 'FILE')).toEqual([]);
  });

  it('refuses an unknown provider on the command line with exit 2', async () => {
    const out = await runMetadata({}, ['lk.metadata=gcp,azure']);
    expect(lines(out, 'EXIT')).toEqual(['2']);
    expect(out).toMatch(/^metadata: lk\.metadata names "azure"; known providers are nocloud, aws, gcp, file/m);
  });
});
