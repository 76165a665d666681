import { hostname } from "node:os";
import type { Logger } from "../../core/logger.ts";
import type { ContainerRuntime } from "../container/container-runtime.ts";
import { sandboxLabelKeys } from "./sandbox-labels.ts";
import { isProcessAlive } from "../is-process-alive.ts";

export type ReapScope =
  /** At runner start: every container of this runner id is a leftover of its previous life. */
  | { runnerId: string }
  /**
   * For processes that share a runner id (several `airlock sandbox exec` at once): only
   * containers whose owning process, on this host, is no longer alive. A live sibling's
   * container is left alone.
   */
  | { deadOwnersOnThisHost: true; runnerId?: string };

export interface ReapOptions {
  runtime: ContainerRuntime;
  logger: Logger;
  scope: ReapScope;
  /** Injected for tests; default: signal 0 to the pid. */
  isProcessAlive?: (pid: number) => boolean;
  /** Default: os.hostname(). */
  host?: string;
}

/** Remove labelled sandbox containers a crashed process left behind. Returns the removed ids. */
export async function reapContainers(options: ReapOptions): Promise<string[]> {
  const { runtime, scope } = options;
  const log = options.logger.child({ component: "reaper" });
  const filter: Record<string, string> = { [sandboxLabelKeys.managed]: "true" };
  if (scope.runnerId !== undefined) filter[sandboxLabelKeys.runnerId] = scope.runnerId;
  const host = options.host ?? hostname();
  const isAlive = options.isProcessAlive ?? isProcessAlive;

  const candidates = await runtime.listContainers(filter);
  const leftovers = candidates.filter((container) => {
    if (!("deadOwnersOnThisHost" in scope)) return true;
    if (container.labels[sandboxLabelKeys.ownerHost] !== host) return false;
    const pid = Number(container.labels[sandboxLabelKeys.ownerPid]);
    // An unreadable owner is not provably dead: leave it for the runner-id sweep.
    if (!Number.isSafeInteger(pid) || pid <= 0) return false;
    return pid !== process.pid && !isAlive(pid);
  });

  const removed: string[] = [];
  for (const container of leftovers) {
    try {
      await runtime.removeContainer(container.id);
      removed.push(container.id);
      log.info(
        { containerId: container.id, runId: container.labels[sandboxLabelKeys.runId] },
        "removed leftover sandbox container",
      );
    } catch (error) {
      log.warn(
        { containerId: container.id, err: (error as Error).message },
        "could not remove leftover sandbox",
      );
    }
  }
  return removed;
}
