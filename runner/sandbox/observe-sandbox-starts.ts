import type { ContainerRuntime } from "../container/container-runtime.ts";
import { sandboxLabelKeys } from "./sandbox-labels.ts";

/**
 * The same runtime, timing each sandbox from its create call to its start returning (issue
 * 13 §3: the dashboard's sandbox start time). Only containers carrying the sandbox labels
 * are timed; everything else passes through untouched.
 */
export function observeSandboxStarts(
  runtime: ContainerRuntime,
  observe: (seconds: number) => void,
): ContainerRuntime {
  const creating = new Map<string, number>();
  return {
    ...runtime,
    async createContainer(spec) {
      const began = performance.now();
      const id = await runtime.createContainer(spec);
      if (spec.labels[sandboxLabelKeys.managed] === "true") creating.set(id, began);
      return id;
    },
    async startContainer(id) {
      await runtime.startContainer(id);
      const began = creating.get(id);
      creating.delete(id);
      if (began !== undefined) observe((performance.now() - began) / 1000);
    },
    async removeContainer(id) {
      creating.delete(id);
      await runtime.removeContainer(id);
    },
  };
}
