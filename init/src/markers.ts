// The console markers tests and benchmarks parse. Keep them stable. Pure.

export function formatUptime(seconds: number): string {
  return seconds.toFixed(2);
}

export const markers = {
  start: (up: number) => `lk-init: start uptime=${formatUptime(up)}`,
  onboot: (name: string, code: number, up: number) => `lk-init: onboot ${name} exit=${code} uptime=${formatUptime(up)}`,
  serviceStarted: (name: string, pid: number, up: number) => `lk-init: service ${name} started pid=${pid} uptime=${formatUptime(up)}`,
  ready: (up: number) => `lk-init: ready uptime=${formatUptime(up)}`,
  serviceExited: (name: string, code: number, restartInMs: number | null) =>
    `lk-init: service ${name} exited code=${code} restart-in=${restartInMs === null ? 'never' : Math.round(restartInMs)}`,
  shutdown: (up: number) => `lk-init: shutdown uptime=${formatUptime(up)}`,
  /** With lk.debug: one line per kernel module the init loaded. */
  module: (name: string, loadMs: number, up: number) => `lk-init: module ${name} load-ms=${Math.round(loadMs)} uptime=${formatUptime(up)}`,
};
