import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import type { ContainerRuntime } from "../container/container-runtime.ts";
import { buildAgentImage } from "./build-agent-image.ts";

/**
 * A runner's `ensureImage`: the up-to-date check of an agent's image (3–4 s of hashing the
 * build context and asking Docker's cache) is done once per `ttlMs`, not for every run.
 * A failed check is not remembered, so the next run tries again.
 */
export function createImageCheckCache(
  runtime: ContainerRuntime,
  options: { ttlMs: number; now?: () => number },
): (agent: AgentDefinition) => Promise<{ ref: string; id: string }> {
  const now = options.now ?? Date.now;
  const cache = new Map<string, { at: number; image: Promise<{ ref: string; id: string }> }>();
  return (agent) => {
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
