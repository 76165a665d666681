import { spawn } from "node:child_process";
import { once } from "node:events";
import { RelayError } from "./relay-error.ts";

export type MirrorLock = { release(): Promise<void> };

/**
 * Takes the exclusive lock of one repository's mirror: a kernel `flock` on `lockFile`,
 * held by a `flock … cat` child that lives until this process closes its stdin, so a
 * runner killed mid-fetch (SIGKILL, OOM, a crashed container) releases the lock with its
 * pipe; a pid written in a file would outlive it, and pids repeat across containers.
 * `wait: false` answers undefined at once when another process holds it.
 */
export async function lockMirror(
  lockFile: string,
  opts: { wait: boolean; signal?: AbortSignal | undefined },
): Promise<MirrorLock | undefined> {
  const busyExitCode = 75;
  const child = spawn(
    "flock",
    [
      "--exclusive",
      ...(opts.wait ? [] : ["--nonblock", "--conflict-exit-code", String(busyExitCode)]),
      "--",
      lockFile,
      "cat",
    ],
    { stdio: ["pipe", "pipe", "pipe"], shell: false, env: { PATH: process.env.PATH ?? "/usr/bin:/bin" } },
  );
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
  child.stdin.on("error", () => {
    // flock exiting early surfaces through its exit code.
  });
  const closed = once(child, "close").then(([code]) => code as number | null);
  const onAbort = () => child.kill("SIGKILL");
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  // `cat` only runs once flock holds the lock; its echo of this byte says so.
  child.stdin.write("\n");
  const acquired = await Promise.race([
    once(child.stdout, "data").then(() => true),
    closed.then(() => false),
    once(child, "error").then(([error]) => {
      throw new RelayError(
        "Could not run flock on the host to lock the repository mirror; is util-linux installed?",
        {
          cause: error,
        },
      );
    }),
  ]).finally(() => opts.signal?.removeEventListener("abort", onAbort));
  if (!acquired) {
    const code = await closed;
    if (!opts.wait && code === busyExitCode) return undefined;
    throw new RelayError(
      `Could not lock the repository mirror (${lockFile}): flock exited ${code}: ${stderr.trim()}`,
    );
  }
  return {
    async release() {
      child.stdin.end();
      await closed;
    },
  };
}
