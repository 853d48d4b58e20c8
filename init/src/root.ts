// Early boot of a node whose root is an image on a block device (lk.root=, lk.verity=): wait
// for the device, check every block through dm-verity, mount the squashfs read-only under a
// tmpfs-backed overlay and switch into it. Without lk.root= the initramfs becomes the root, as
// before. Any failure stops the boot (BootStop): no service ever runs from an unverified root.

import * as os from 'os';
import * as lk from 'lk';
import { leaveInitramfs, rootIsInitramfs } from './boot.js';
import { parseCmdline } from './cmdline.js';
import { markers } from './markers.js';
import {
  gptPartitionNumber,
  parseGptHeader,
  rootRequest,
  VERITY_BLOCK_SIZE,
  verityTarget,
  type RootDevice,
  type RootRequest,
  type VerityParams,
} from './rootspec.js';
import { BootStop } from './steps.js';
import { errorMessage, exists, listDir, log, mkdirp, readBytes, readText, sleep, uptime } from './sys.js';

const WAIT_FOR_DEVICE_MS = 10_000;
const POLL_MS = 100;
/** The tmpfs holding the image's mount point, the overlay's upper layer and the new root. */
const STAGE = '/.lk';

/** Mounts `fstype` at `target` unless something is mounted there; returns whether it did. */
function mountIfMissing(fstype: string, target: string, data: string | null = null): boolean {
  mkdirp(target);
  const mounted = (readText('/proc/self/mountinfo') ?? '').split('\n').some((l) => l.split(' ')[4] === target);
  if (mounted) return false;
  lk.mount(fstype, target, fstype, lk.MS_NOSUID | lk.MS_NOEXEC, data);
  return true;
}

function unmountAll(targets: string[]): void {
  for (const t of targets.reverse()) {
    try {
      lk.umount(t, lk.MNT_DETACH);
    } catch (e) {
      log(`lk-init: umount ${t}: ${(e as Error).message}`);
    }
  }
}

/** The partition whose GPT unique GUID is `uuid`, as /dev/<name>, or null (not there yet). */
function findPartUuid(uuid: string): string | null {
  for (const disk of listDir('/sys/class/block')) {
    const sys = `/sys/class/block/${disk}`;
    if (exists(`${sys}/partition`)) continue;
    const sector = Number((readText(`${sys}/queue/logical_block_size`) ?? '').trim()) || 512;
    const header = parseGptHeader(readBytes(`/dev/${disk}`, sector, 92) ?? new Uint8Array());
    if (!header) continue;
    const entries = readBytes(`/dev/${disk}`, header.entriesLba * sector, header.entryCount * header.entrySize);
    const number = entries && gptPartitionNumber(entries, header, uuid);
    if (!number) continue;
    const part = listDir(sys).find((name) => (readText(`${sys}/${name}/partition`) ?? '').trim() === String(number));
    if (part) return `/dev/${part}`;
  }
  return null;
}

function isBlockDevice(path: string): boolean {
  const [st, err] = os.stat(path);
  return err === 0 && (st.mode & os.S_IFMT) === os.S_IFBLK;
}

function describe(device: RootDevice): string {
  return device.kind === 'path' ? device.path : `PARTUUID=${device.uuid}`;
}

/** Waits up to 10 s for the root device to appear; its /dev path. */
async function waitForDevice(device: RootDevice): Promise<string> {
  const deadline = uptime() * 1000 + WAIT_FOR_DEVICE_MS;
  for (;;) {
    const path = device.kind === 'path' ? (isBlockDevice(device.path) ? device.path : null) : findPartUuid(device.uuid);
    if (path) return path;
    if (uptime() * 1000 > deadline)
      throw new BootStop(markers.rootFailed(`${describe(device)} did not appear within ${WAIT_FOR_DEVICE_MS / 1000} s`));
    await sleep(POLL_MS);
  }
}

/** The /dev node of the block device major:minor (devtmpfs names it). */
function blockDevicePath(major: number, minor: number): string {
  const uevent = readText(`/sys/dev/block/${major}:${minor}/uevent`) ?? '';
  const name = /^DEVNAME=(.+)$/m.exec(uevent)?.[1];
  if (!name) throw new Error(`block device ${major}:${minor} has no DEVNAME`);
  return `/dev/${name}`;
}

/** Creates the dm-verity device over `device` and reads every data block through it once. */
function openVerity(device: string, p: VerityParams): string {
  try {
    const target = verityTarget(device, p);
    const dev = lk.dmCreate('lk-root', 'verity', target.sectors, target.params);
    const verified = blockDevicePath(dev.major, dev.minor);
    lk.readBlocks(verified, VERITY_BLOCK_SIZE, p.dataBlocks);
    return verified;
  } catch (e) {
    // readBlocks names the block ("block 12: I/O error"); the rest name their own step.
    const detail = errorMessage(e).split('\n')[0]!;
    throw new BootStop(markers.verityFailed(`${device}${/^block /.test(detail) ? ' ' : ': '}${detail}`));
  }
}

/** Mounts the squashfs at `source` read-only under a tmpfs upper layer; returns the overlay's path. */
function mountOverlayRoot(source: string): string {
  mkdirp(STAGE);
  lk.mount('lk-root', STAGE, 'tmpfs', 0, 'mode=0755');
  for (const dir of ['image', 'rw/upper', 'rw/work', 'root']) mkdirp(`${STAGE}/${dir}`);
  lk.mount(source, `${STAGE}/image`, 'squashfs', lk.MS_RDONLY);
  const layers = `lowerdir=${STAGE}/image,upperdir=${STAGE}/rw/upper,workdir=${STAGE}/rw/work`;
  lk.mount('overlay', `${STAGE}/root`, 'overlay', 0, layers);
  return `${STAGE}/root`;
}

async function enterImageRoot(request: RootRequest, mounted: string[]): Promise<void> {
  mounted.push(...['/sys', '/dev'].filter((t) => mountIfMissing(t === '/sys' ? 'sysfs' : 'devtmpfs', t)));
  const device = await waitForDevice(request.device);
  const started = uptime();
  const source = request.verity ? openVerity(device, request.verity) : device;
  const verifyMs = request.verity ? Math.round((uptime() - started) * 1000) : 0;
  let newRoot: string;
  try {
    newRoot = mountOverlayRoot(source);
  } catch (e) {
    throw new BootStop(markers.rootFailed(`${device}: ${errorMessage(e).split('\n')[0]}`));
  }
  log(markers.root(device, request.verity?.dataBlocks ?? 0, verifyMs, uptime()));
  unmountAll(mounted.splice(0)); // the boot mounts its own in the new root
  lk.switchRoot(newRoot); // the small initramfs (the init alone) stays beneath, as in leaveInitramfs
}

/**
 * The root: the image lk.root= names (checked with lk.verity=), or the initramfs moved onto a
 * tmpfs. Returns whether the root moved. Throws BootStop when the node must not boot.
 */
export async function enterRoot(): Promise<boolean> {
  // Settle only after the caller awaits: QuickJS reports a rejection that has no handler yet.
  await null;
  const mounted: string[] = [];
  let initramfs = false;
  try {
    if (mountIfMissing('proc', '/proc')) mounted.push('/proc');
    let request: RootRequest | null;
    try {
      request = rootRequest(parseCmdline(readText('/proc/cmdline') ?? ''));
    } catch (e) {
      throw new BootStop(markers.rootFailed((e as Error).message));
    }
    if (request) {
      await enterImageRoot(request, mounted);
      return true;
    }
    initramfs = rootIsInitramfs();
  } finally {
    // Leaving the initramfs takes our /proc along (see leaveInitramfs); anything else unmounts it.
    if (!initramfs) unmountAll(mounted);
  }
  return initramfs && leaveInitramfs(mounted);
}
