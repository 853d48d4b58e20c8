// Boot tests of the provisioning images through `lkbuild run qemu`: dhcpcd takes QEMU's address
// and DNS server; ssh from the host logs in through a published port with a key from a NoCloud
// seed (--data-file) and from the IMDSv2 emulation (--imds) and runs lkctl; getty with
// INSECURE=true answers on the serial console.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { boot, buildCase, lkbuild, markers, type BootResult } from './harness.js';
import { freePort, keyPair, ssh, type SshResult } from './ssh-helpers.js';

/** What the tests ask the node over SSH, one tagged line each. */
const REPORT = [
  'lkctl ls',
  'echo "HOST $(hostname)"',
  'ip -4 -o addr show dev eth0 | awk \'{print "ADDR", $4}\'',
  'sed "s/^/RESOLV /" /etc/resolv.conf',
  'echo "PROVIDER $(cat /run/config/provider)"',
  'for f in $(find /run/config -type f | sort); do echo "CONFIG $f $(stat -c %a "$f")"; done',
  'cat /run/provision-test/greeting 2>/dev/null | sed "s/^/GREETING /"',
  'awk \'{print "AUTHORIZED", $NF}\' /root/.ssh/authorized_keys',
  'cat /run/config/app/greeting 2>/dev/null | sed "s/^/APP /"',
].join('; ');

interface Login {
  boot: BootResult;
  report: SshResult;
  poweroff: SshResult;
}

/**
 * Boots `base` with `args`; once the node is ready, logs in with `key` (ssh retries until sshd
 * answers), asks REPORT, then powers the node off with lkctl over SSH. `console` is typed on the
 * serial console once the shell that getty started there is ready.
 */
async function bootAndLogin(base: string, opts: { args: string[]; key: string; append?: string; console?: string }): Promise<Login> {
  const port = await freePort();
  let started = false;
  let session: Promise<{ report: SshResult; poweroff: SshResult }> | undefined;
  const result = await boot(base, {
    append: opts.append ?? '',
    args: [...opts.args, '--publish', `127.0.0.1:${port}:22`],
    timeoutMs: 420_000,
    // busybox's shell prints its banner once it reads the terminal; earlier input getty would flush.
    input: opts.console ? [{ when: /Enter 'help' for a list of built-in commands/, text: opts.console }] : [],
    onOutput: (out) => {
      if (started || !out.includes('lk-init: ready')) return;
      started = true;
      session = (async () => {
        const report = await ssh(port, opts.key, REPORT);
        const poweroff = await ssh(port, opts.key, 'lkctl poweroff');
        return { report, poweroff };
      })();
    },
  });
  if (!session) throw new Error(`the node never became ready:\n${result.output}`);
  return { boot: result, ...(await session) };
}

const tagged = (text: string, tag: string) =>
  text
    .split('\n')
    .filter((l) => l.startsWith(`${tag} `))
    .map((l) => l.slice(tag.length + 1));

describe('provisioning from a NoCloud seed, DHCP, and a console login', () => {
  let run: Login;

  beforeAll(async () => {
    const base = await buildCase('provision');
    const { key, pub } = await keyPair();
    const dir = await mkdtemp(join(tmpdir(), 'lk-provision-'));
    const userData = join(dir, 'user-data');
    await writeFile(
      userData,
      `#cloud-config\nhostname: provisioned\nssh_authorized_keys:\n  - ${pub}\nwrite_files:\n  - path: /run/provision-test/greeting\n    content: |\n      hello from cloud-config\n    permissions: "0640"\n`,
    );
    run = await bootAndLogin(base, {
      args: ['--data-file', userData],
      key,
      append: 'lk.console-logs',
      console: 'echo GETTY-$((6*7)); echo "TTY $(tty)"\n',
    });
  }, 900_000);

  test('the node boots, and powers off when asked over SSH', () => {
    expect(run.boot.timedOut, run.boot.output).toBe(false);
    expect(run.poweroff.exitCode, run.poweroff.stderr).toBe(0);
    expect(markers(run.boot.output).map((m) => m.event)).toEqual(expect.arrayContaining(['ready', 'shutdown']));
  });

  test("dhcpcd takes QEMU's address in onboot, before the services start, and resolv.conf names QEMU's DNS server", () => {
    const out = run.boot.output;
    const lease = out.indexOf('lk-dhcp: eth0: bound 10.0.2.15/24 router 10.0.2.2 dns 10.0.2.3');
    expect(lease, out).toBeGreaterThan(0);
    expect(out.indexOf('lk-init: onboot dhcpcd exit=0')).toBeGreaterThan(lease);
    expect(tagged(run.report.stdout, 'ADDR')).toEqual(['10.0.2.15/24']);
    expect(tagged(run.report.stdout, 'RESOLV')).toEqual(['nameserver 10.0.2.3']);
  });

  test('ssh logs in with the key from the seed and runs lkctl ls', () => {
    expect(run.report.exitCode, run.report.stderr).toBe(0);
    const services = run.report.stdout.split('\n').filter((l) => /^(dhcpcd|sshd|getty)\s/.test(l));
    expect(services.map((l) => l.split(/\s+/).slice(0, 2))).toEqual([
      ['dhcpcd', 'running'],
      ['getty', 'running'],
      ['sshd', 'running'],
    ]);
  });

  test("sshd authorizes the build file's key and the seed's, each once", () => {
    expect(tagged(run.report.stdout, 'AUTHORIZED')).toEqual(['build-file-key', 'lkbuild-test']);
  });

  test("cloud-config's hostname and write_files are applied; /run/config has LinuxKit's layout", () => {
    expect(tagged(run.report.stdout, 'HOST')).toEqual(['provisioned']);
    expect(tagged(run.report.stdout, 'GREETING')).toEqual(['hello from cloud-config']);
    expect(tagged(run.report.stdout, 'PROVIDER')).toEqual([expect.stringMatching(/^nocloud:\/dev\/vd[a-z]$/)]);
    expect(tagged(run.report.stdout, 'CONFIG')).toEqual([
      '/run/config/hostname 644',
      '/run/config/provider 644',
      '/run/config/ssh/authorized_keys 600',
      '/run/config/userdata 644',
    ]);
  });

  test('getty with INSECURE=true gives a root shell on the serial console that runs a command', () => {
    expect(run.boot.output).toMatch(/^GETTY-42$/m);
    expect(run.boot.output).toMatch(/^TTY \/dev\/ttyS0$/m);
  });
});

describe('provisioning from the IMDSv2 emulation', () => {
  let run: Login;

  beforeAll(async () => {
    const base = await buildCase('provision');
    const { key, pub } = await keyPair();
    const dir = await mkdtemp(join(tmpdir(), 'lk-provision-imds-'));
    const userData = join(dir, 'user-data.json');
    // LinuxKit's JSON user data: one file per key under /run/config.
    await writeFile(
      userData,
      JSON.stringify({
        ssh: { entries: { authorized_keys: { perm: '0600', content: `${pub}\n` } } },
        app: { entries: { greeting: { content: 'from imds ✓ é\n' } } },
      }),
    );
    run = await bootAndLogin(base, { args: ['--imds', userData], key });
  }, 900_000);

  test('ssh logs in with the key from IMDS user data and runs lkctl ls', () => {
    expect(run.boot.timedOut, run.boot.output).toBe(false);
    expect(run.report.exitCode, run.report.stderr).toBe(0);
    expect(run.report.stdout).toMatch(/^sshd\s+running\s/m);
    expect(run.poweroff.exitCode).toBe(0);
  });

  test("the aws provider answered (NoCloud found no seed first), with the host name of EC2's form", () => {
    expect(tagged(run.report.stdout, 'PROVIDER')).toEqual(['aws']);
    expect(tagged(run.report.stdout, 'HOST')).toEqual([expect.stringMatching(/^ip-169-254-\d+-\d+$/)]);
    expect(tagged(run.report.stdout, 'CONFIG')).toEqual([
      '/run/config/app/greeting 644',
      '/run/config/hostname 644',
      '/run/config/provider 644',
      '/run/config/ssh/authorized_keys 600',
      '/run/config/userdata 644',
    ]);
  });

  test('user data keeps its UTF-8 text intact through HTTP', () => {
    expect(tagged(run.report.stdout, 'APP')).toEqual(['from imds ✓ é']);
  });

  test('dhcpcd takes an address of the link-local network that --imds sets up, and its DNS server', () => {
    // QEMU hands out .15 and serves DNS at .3 of the host part it chose for that network.
    const [addr] = tagged(run.report.stdout, 'ADDR');
    const m = /^169\.254\.(\d+)\.15\/16$/.exec(addr ?? '');
    expect(m, run.report.stdout).not.toBeNull();
    expect(tagged(run.report.stdout, 'RESOLV')).toEqual([`nameserver 169.254.${m![1]}.3`]);
  });
});

describe('examples/aws.yml as an aws disk: IMDSv2 only, serial console', () => {
  let run: Login;

  beforeAll(async () => {
    const out = await mkdtemp(join(tmpdir(), 'lk-provision-aws-'));
    const built = await lkbuild(['build', '-o', out, '-f', 'aws', join(import.meta.dirname, '..', 'examples', 'aws.yml')], {
      timeoutMs: 600_000,
    });
    if (built.exitCode !== 0) throw new Error(`building examples/aws.yml failed:\n${built.stderr}`);
    const { key, pub } = await keyPair();
    const userData = join(out, 'user-data');
    await writeFile(userData, `#cloud-config\nssh_authorized_keys:\n  - ${pub}\n`);
    // The disk boots with the command line it was built with (console=ttyS0, lk.metadata=aws).
    run = await bootAndLogin(join(out, 'aws.raw'), { args: ['--imds', userData], key });
  }, 900_000);

  test('boots under UEFI with its console on ttyS0, and ssh logs in with the IMDS key', () => {
    expect(run.boot.timedOut, run.boot.output).toBe(false);
    expect(run.boot.output).toContain('lk-init: ready');
    expect(run.report.exitCode, run.report.stderr).toBe(0);
    expect(run.report.stdout).toMatch(/^sshd\s+running\s/m);
    expect(tagged(run.report.stdout, 'PROVIDER')).toEqual(['aws']);
    expect(run.poweroff.exitCode).toBe(0);
  });
});
