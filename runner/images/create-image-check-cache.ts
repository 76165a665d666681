import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import type { Logger } from "../../core/logger.ts";
import type { ContainerRuntime } from "../container/container-runtime.ts";
import type { EnsuredImage } from "../run/run-deps.ts";
import { buildAgentImage } from "./build-agent-image.ts";
import { buildGrantedImage } from "./build-granted-image.ts";
import type { ImageGrant } from "./image-grant.ts";

/**
 * A runner's `ensureImage`: the up-to-date check of an agent's image (3–4 s of hashing the
 * build context and asking Docker's cache) is done once per `ttlMs`, not for every run.
 * A failed check is not remembered, so the next run tries again. A run with granted
 * packages (issue 10 §5) gets its granted image, built on the agent's cached image:
 * Docker's cache makes the same grants again a no-op, so those are not cached here.
 */
export function createImageCheckCache(
  runtime: ContainerRuntime,
  options: {
    ttlMs: number;
    now?: () => number;
    logger?: Logger | undefined;
    /** AIRLOCK_PIP_INDEX_URL, for pip grants. */
    pipIndexUrl?: string | undefined;
  },
): (agent: AgentDefinition, grants?: readonly ImageGrant[]) => Promise<EnsuredImage> {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { at: number; image: Promise<{ ref: string; id: string }> }>();
  return async (agent, grants = []) => {
    if (grants.length > 0) {
      if (options.logger === undefined)
        throw new Error("createImageCheckCache: granted images need a logger");
      const built = await buildGrantedImage(runtime, {
        agent,
        grants,
        logger: options.logger,
        pipIndexUrl: options.pipIndexUrl,
      });
      return { ref: built.ref, id: built.image.id, grants: built.grants, sbomDelta: built.sbomDelta };
    }
    const hit = cache.get(agent.id);
    if (hit && now() - hit.at < options.ttlMs) return hit.image;
    const image = buildAgentImage(runtime, { agent }).then((built) => ({
      ref: built.ref,
      id: built.image.id,
    }));
    cache.set(agent.id, { at: now(), image });
    image.catch(() => cache.delete(agent.id));
    return image;
  };
}
