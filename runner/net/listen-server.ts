import { chmod, mkdir, rm } from "node:fs/promises";
import type { Server } from "node:net";
import { dirname } from "node:path";

/**
 * Listen on TCP or on a unix socket, resolving once listening and rejecting on the
 * listen error (a port in use, say). A socket's directory is made and a stale socket file
 * removed first; the socket is made mode 0666 because the sandbox's non-root user
 * (uid 1001) connects to it through the mounted per-run directory.
 */
export async function listenServer(
  server: Server,
  target: { path: string } | { port: number; host: string },
): Promise<void> {
  if ("path" in target) {
    await mkdir(dirname(target.path), { recursive: true });
    await rm(target.path, { force: true });
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(target, () => {
      server.off("error", reject);
      resolve();
    });
  });
  if ("path" in target) await chmod(target.path, 0o666);
}
