// Types for the QuickJS modules the init uses (the subset we call) and our C module `lk`.

declare module 'std' {
  export interface FILE {
    puts(s: string): void;
    flush(): void;
    close(): number;
    readAsString(max?: number): string;
    seek(offset: number, whence: number): number;
    /** Bytes read into buffer at position; 0 at end of file. */
    read(buffer: ArrayBuffer, position: number, length: number): number;
    write(buffer: ArrayBuffer, position: number, length: number): number;
  }
  export const SEEK_SET: number;
  export const out: FILE;
  export const err: FILE;
  export function exit(code: number): never;
  export function loadFile(path: string): string | null;
  export function open(path: string, mode: string, errorObj?: { errno?: number }): FILE | null;
  export function strerror(errno: number): string;
  export function getenv(name: string): string | undefined;
}

declare module 'os' {
  export function close(fd: number): number;
  /** Bytes read into buffer at offset, 0 at end of file, or -errno. */
  export function read(fd: number, buffer: ArrayBuffer, offset: number, length: number): number;
  export function setReadHandler(fd: number, handler: (() => void) | null): void;
  export function setTimeout(fn: () => void, ms: number): unknown;
  export function clearTimeout(handle: unknown): void;
  /** Returns [names, errno]. */
  export function readdir(path: string): [string[], number];
  /** Returns [stat, errno]. */
  export function stat(path: string): [{ mode: number; size: number; dev: number }, number];
  export function lstat(path: string): [{ mode: number; size: number }, number];
  export function mkdir(path: string, mode?: number): number;
  export function remove(path: string): number;
  export function rename(oldPath: string, newPath: string): number;
  export function symlink(target: string, path: string): number;
  /** Returns [target, errno]. */
  export function readlink(path: string): [string, number];
  export const S_IFMT: number;
  export const S_IFDIR: number;
  export const S_IFBLK: number;
  export const S_IFREG: number;
}

declare module 'lk' {
  export function mount(source: string | null, target: string, fstype: string | null, flags: number, data?: string | null): void;
  export function umount(target: string, flags?: number): void;
  export function chroot(path: string): void;
  export function chdir(path: string): void;
  export function sethostname(name: string): void;
  export function reboot(cmd: number): void;
  export function sync(): void;
  /** Seconds since boot (CLOCK_BOOTTIME). */
  export function uptime(): number;
  export function getpid(): number;
  export function kill(pid: number, signal: number): void;
  export function fsType(path: string): number;
  export function ifup(name: string): void;
  export function switchRoot(newRoot: string): void;
  /** Creates device-mapper device `name` with one read-only target and resumes it. */
  export function dmCreate(name: string, type: string, sectors: number, params: string): { major: number; minor: number };
  /** Reads blocks 0..count-1 of `path` once, bypassing the page cache; throws "block N: <error>" for the first unreadable one. */
  export function readBlocks(path: string, blockSize: number, count: number): void;
  export function spawn(argv: string[], fds?: { stdin?: number; stdout?: number; stderr?: number }): number;
  /** Exited children: code is the exit status or 128+signal. */
  export function reap(): { pid: number; code: number }[];
  export function signalfd(signals: number[]): number;
  export function readSignals(fd: number): number[];
  export function pipe(): [number, number];
  export function openAppend(path: string): number;
  /** A close-on-exec, non-blocking fd for reading. */
  export function openRead(path: string): number;
  export function setNonBlock(fd: number): void;
  /** Bytes moved from `from` to each target; 0 at EOF, -1 when nothing is ready. */
  export function pump(from: number, targets: number[]): number;
  /** As pump, returning what it moved as text: "" at EOF, null when nothing is ready. */
  export function tee(from: number, targets: number[]): string | null;
  /** "" at EOF, null when nothing is ready. */
  export function readString(fd: number): string | null;
  /** The whole file as text (UTF-8), or null if it cannot be opened or read. */
  export function readFile(path: string): string | null;
  export function writeString(fd: number, s: string): void;
  /** Waits until what was written to the terminal `fd` has gone out (tcdrain). */
  export function drain(fd: number): void;
  export function listenUnix(path: string): number;
  export function accept(fd: number): number | null;
  export function connectUnix(path: string): number;
  /** A blocking TCP socket to ipv4:port, connected within connectMs; reads and writes time out after ioMs (readString returns null). */
  export function connectTcp(ipv4: string, port: number, connectMs: number, ioMs: number): number;
  export function chmod(path: string, mode: number): void;
  /** A non-blocking UDP or TCP socket connected (TCP: connecting) to host:port; host is resolved once. */
  export function connectInet(proto: 'udp' | 'tcp', host: string, port: number): number;
  /** Sends s's UTF-8 from byte `from` on, without blocking: bytes sent, or -1 when the socket cannot take them now. */
  export function send(fd: number, s: string, from?: number): number;
  /** Creates a link of `kind` in the init's network namespace; a veth needs `peer`. */
  export function linkAdd(name: string, kind: string, peer?: string | null): void;
  /** Moves a link into the network namespace of `pid`, renaming it there to `newName`. */
  export function linkSetNs(name: string, pid: number, newName?: string | null): void;
  /** Loads the kernel module in `path` (an uncompressed .ko) with finit_module(2); errors carry errno (EEXIST: already loaded). */
  export function finitModule(path: string, params?: string | null): void;
  export const EEXIST: number;
  export const MS_RDONLY: number;
  export const MS_NOSUID: number;
  export const MS_NODEV: number;
  export const MS_NOEXEC: number;
  export const MS_RELATIME: number;
  export const MS_REMOUNT: number;
  export const MS_BIND: number;
  export const MS_REC: number;
  export const MS_MOVE: number;
  export const MS_SHARED: number;
  export const MNT_DETACH: number;
  export const RB_POWER_OFF: number;
  export const RB_AUTOBOOT: number;
  export const RB_HALT_SYSTEM: number;
  export const RB_DISABLE_CAD: number;
  export const SIGHUP: number;
  export const SIGINT: number;
  export const SIGKILL: number;
  export const SIGUSR1: number;
  export const SIGUSR2: number;
  export const SIGPIPE: number;
  export const SIGTERM: number;
  export const SIGCHLD: number;
  export const SIGPWR: number;
}

declare const scriptArgs: string[];
declare function print(...args: unknown[]): void;
