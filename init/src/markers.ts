// The console markers tests and benchmarks parse. Keep them stable. Pure.

/** Milliseconds: bench/boot reads the init's share (ready - start), which is about 0.1 s. */
export function formatUptime(seconds: number): string {
  return seconds.toFixed(3);
}

export const markers = {
  start: (up: number) => `lk-init: start uptime=${formatUptime(up)}`,
  onboot: (name: string, code: number, up: number) => `lk-init: onboot ${name} exit=${code} uptime=${formatUptime(up)}`,
  serviceStarted: (name: string, pid: number, up: number) => `lk-init: service ${name} started pid=${pid} uptime=${formatUptime(up)}`,
  ready: (up: number) => `lk-init: ready uptime=${formatUptime(up)}`,
  serviceExited: (name: string, code: number, restartInMs: number | null) =>
    `lk-init: service ${name} exited code=${code} restart-in=${restartInMs === null ? 'never' : Math.round(restartInMs)}`,
  shutdown: (up: number) => `lk-init: shutdown uptime=${formatUptime(up)}`,
  /** The root is the image on `device` (lk.root=); with lk.verity= all its blocks were read through dm-verity first. */
  root: (device: string, verifiedBlocks: number, verifyMs: number, up: number) =>
    `lk-init: root ${device} ${verifiedBlocks > 0 ? `verity=on blocks=${verifiedBlocks} verify-ms=${verifyMs}` : 'verity=off'} uptime=${formatUptime(up)}`,
  /** The boot stops here (then powers off): the root image failed its check. */
  verityFailed: (detail: string) => `lk-init: verity failed: ${detail}`,
  /** The boot stops here (then powers off): no root to run from. */
  rootFailed: (detail: string) => `lk-init: root failed: ${detail}`,
  /** With lk.debug: one line per kernel module the init loaded. */
  module: (name: string, loadMs: number, up: number) => `lk-init: module ${name} load-ms=${Math.round(loadMs)} uptime=${formatUptime(up)}`,
};
