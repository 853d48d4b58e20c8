/**
 * Whether a process with this pid exists on this machine (signal 0 probes without sending).
 * EPERM means it exists under another user; anything that is not a pid counts as not alive.
 */
export function isProcessAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
