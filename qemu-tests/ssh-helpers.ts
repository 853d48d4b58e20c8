// Helpers for boot tests that log in to a node over SSH through a published port.
import { mkdtemp, readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';

/** A port on 127.0.0.1 that was free a moment ago (QEMU binds it for --publish). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise((r) => s.close(r));
  return port;
}

/** A fresh ed25519 key pair from ssh-keygen: the private key's path and the public key line. */
export async function keyPair(): Promise<{ key: string; pub: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'lk-ssh-'));
  const key = join(dir, 'id_ed25519');
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'lkbuild-test', '-f', key]);
  return { key, pub: (await readFile(`${key}.pub`, 'utf8')).trim() };
}

export interface SshResult {
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
}

/**
 * Runs `command` on the node as root with OpenSSH's client. sshd announces itself a moment before
 * it accepts connections, and QEMU's port forward resets a connection the guest refuses: exit
 * status 255 (ssh's own failure) is retried until `deadlineMs`.
 */
export async function ssh(port: number, key: string, command: string, deadlineMs = 90_000): Promise<SshResult> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const r = await execa(
      'ssh',
      [
        '-i',
        key,
        '-p',
        String(port),
        '-o',
        'BatchMode=yes',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'LogLevel=ERROR',
        '-o',
        'ConnectTimeout=30',
        'root@127.0.0.1',
        command,
      ],
      { reject: false, timeout: 120_000, stdin: 'ignore' },
    );
    const result = { exitCode: r.exitCode, stdout: String(r.stdout), stderr: String(r.stderr) };
    if (r.exitCode !== 255 || Date.now() > until) return result;
    await sleep(3000);
  }
}
