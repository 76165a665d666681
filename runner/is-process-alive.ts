/**
 * Is `pid` a live process on this host? Signal 0 checks without sending anything; EPERM
 * means it exists under another user, so it is alive. Used to tell a crashed owner's
 * leftovers (containers, call journals) from a live one's.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
