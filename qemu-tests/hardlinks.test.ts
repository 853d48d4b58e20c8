// Hard links for real: an image whose layer holds a hard link, made by umoci from a directory
// with hard links and pushed by skopeo to a docker-registry started here, is an init image of a
// node. The link survives in the initrd (GNU cpio extracts one inode), in the `tar` output
// (GNU tar lists a link entry) and on the booted node (stat shows one inode, two links).
import { execFileSync } from 'node:child_process';
import { link, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { startRegistry, type RunningRegistry } from '../builder/test/registry/helpers/registry-server.js';
import { boot, type BootResult } from './harness.js';
import { tagged } from './init-helpers.js';

const repo = resolve(import.meta.dirname, '..');
const cli = join(repo, 'builder/bin/lkbuild.js');

/** `stat -c '%i %h %n'` lines -> name -> [inode, links]. */
function inodes(lines: string[]): Map<string, [string, string]> {
  return new Map(lines.map((l) => l.trim().split(/\s+/)).map(([ino, n, name]) => [name!.replace(/^.*\/hl\//, 'hl/'), [ino!, n!]]));
}

function expectLinked(found: Map<string, [string, string]>, where: string): void {
  const [a, b, other] = ['hl/a', 'hl/b', 'hl/other'].map((n) => found.get(n));
  expect(a, `${where}: ${[...found.keys()].join(' ')}`).toBeDefined();
  expect(b![0], where).toBe(a![0]);
  expect(a![1], where).toBe('2');
  expect(other![0], where).not.toBe(a![0]);
  expect(other![1], where).toBe('1');
}

describe('hard links from a third-party image', () => {
  let registry: RunningRegistry;
  let work: string;
  let ref: string;
  let base: string;
  let result: BootResult;

  beforeAll(async () => {
    registry = await startRegistry();
    work = await mkdtemp(join(tmpdir(), 'lk-hardlinks-'));
    // umoci: an empty image, a rootfs with hl/a and hl/b as one inode, repacked into a layer.
    const umoci = (...args: string[]) => execFileSync('umoci', args, { cwd: work });
    umoci('init', '--layout', 'layout');
    umoci('new', '--image', 'layout:hl');
    umoci('unpack', '--rootless', '--image', 'layout:hl', 'bundle');
    await mkdir(join(work, 'bundle/rootfs/hl'));
    await writeFile(join(work, 'bundle/rootfs/hl/a'), 'linked data\n');
    await link(join(work, 'bundle/rootfs/hl/a'), join(work, 'bundle/rootfs/hl/b'));
    await writeFile(join(work, 'bundle/rootfs/hl/other'), 'linked data\n');
    umoci('repack', '--image', 'layout:hl', 'bundle');
    ref = `${registry.host}/lktest/hardlinks:1`;
    await execa('skopeo', ['copy', '--insecure-policy', '--dest-tls-verify=false', `oci:${join(work, 'layout')}:hl`, `docker://${ref}`]);

    const yml = join(work, 'node.yml');
    await writeFile(
      yml,
      [
        'kernel:',
        `  image: "@pkg:${repo}/images/kernel"`,
        '  cmdline: "console=ttyS0"',
        'init:',
        `  - "@pkg:${repo}/images/init"`,
        `  - "${ref}"`,
        'onboot:',
        '  - name: stat',
        `    image: "@pkg:${repo}/images/busybox"`,
        '    binds: ["/hl:/hl"]',
        `    command: ["/bin/sh", "-c", "stat -c 'STAT %i %h %n' /hl/a /hl/b /hl/other"]`,
        '',
      ].join('\n'),
    );
    const out = join(work, 'out');
    const build = await execa('node', [cli, 'build', '-o', out, '-n', 'hl', '-f', 'kernel+initrd', '-f', 'tar', yml], {
      reject: false,
      all: true,
    });
    if (build.exitCode !== 0) throw new Error(`lkbuild build failed (${build.exitCode}):\n${build.all}`);
    base = join(out, 'hl');
    result = await boot(base, { timeoutMs: 240_000 });
  });

  afterAll(async () => {
    if (ref) await execa('node', [cli, 'cache', 'rm', ref], { reject: false }); // the shared cache keeps nothing of ours
    await registry?.stop();
  });

  test("umoci's layer really holds a hard link entry", async () => {
    const listing = execFileSync(
      'sh',
      ['-c', `for b in ${join(work, 'layout/blobs/sha256')}/*; do tar tvzf "$b" 2>/dev/null; done; true`],
      { encoding: 'utf8' },
    );
    expect(listing).toMatch(/^h.* hl\/b link to hl\/a$/m);
  });

  test('the initrd keeps one inode (extracted by GNU cpio)', async () => {
    const dir = join(work, 'initrd');
    await mkdir(dir);
    execFileSync('sh', ['-c', `gzip -dc '${base}-initrd.img' | cpio -idm --quiet`], { cwd: dir });
    expectLinked(
      inodes(execFileSync('stat', ['-c', '%i %h %n', 'hl/a', 'hl/b', 'hl/other'], { cwd: dir, encoding: 'utf8' }).trim().split('\n')),
      'initrd',
    );
  });

  test('the tar output holds a link entry (GNU tar) that extracts to one inode', async () => {
    expect(execFileSync('tar', ['tvf', `${base}.tar`], { encoding: 'utf8' })).toMatch(/^h.* \.?\/?hl\/b link to \.?\/?hl\/a$/m);
    const dir = join(work, 'tar');
    await mkdir(dir);
    execFileSync('tar', ['xf', `${base}.tar`, '-C', dir]);
    expectLinked(
      inodes(execFileSync('stat', ['-c', '%i %h %n', 'hl/a', 'hl/b', 'hl/other'], { cwd: dir, encoding: 'utf8' }).trim().split('\n')),
      'tar',
    );
  });

  test('the booted node shows one inode with two links', () => {
    expect(result.timedOut, result.output).toBe(false);
    expectLinked(inodes(tagged(result.output, 'STAT')), 'booted node');
  });
});
