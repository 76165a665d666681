/**
 * Labels every sandbox container carries, so the reaper can find what a crashed process
 * left behind (STYLE: own what you start) without touching anyone else's containers.
 */
export const sandboxLabelKeys = Object.freeze({
  managed: "airlock.managed",
  runId: "airlock.run-id",
  runnerId: "airlock.runner-id",
  /** pid and host of the process that created the container: tells a live owner from a dead one. */
  ownerPid: "airlock.owner-pid",
  ownerHost: "airlock.owner-host",
});

export function buildSandboxLabels(options: {
  runId: string;
  runnerId: string;
  ownerPid: number;
  ownerHost: string;
}): Record<string, string> {
  return {
    [sandboxLabelKeys.managed]: "true",
    [sandboxLabelKeys.runId]: options.runId,
    [sandboxLabelKeys.runnerId]: options.runnerId,
    [sandboxLabelKeys.ownerPid]: String(options.ownerPid),
    [sandboxLabelKeys.ownerHost]: options.ownerHost,
  };
}
