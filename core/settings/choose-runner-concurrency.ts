/** What the host offers runs: CPUs and memory not already in use. */
export interface HostCapacity {
  /** os.availableParallelism(): the CPUs this process may use. */
  cpus: number;
  /** process.availableMemory() in MiB: free memory, within the process's cgroup limit if any. */
  availableMemoryMb: number;
}

export interface RunnerConcurrencyChoice {
  concurrency: number;
  /** Why, in one line, for `airlock runner --help` and the runner's start-up log. */
  reason: string;
}

/**
 * Runs per CPU. Measured with bench/runs-per-minute.ts (README, "Runs per minute: runners and
 * concurrency"): a run's CPU work comes in bursts (container start, the agent's process, git),
 * between which it waits on the model and on GitHub (a pull request and its result comment
 * are paced 3 s apart), so one run per CPU leaves the CPUs idle; past two per CPU runs per
 * minute stop rising and each run only takes longer.
 */
export const runsPerCpu = 2;

/** Share of the available memory the sandboxes may take together; the rest is the host's. */
export const sandboxMemoryShare = 0.75;

/**
 * AIRLOCK_RUNNER_CONCURRENCY's default (issue 15): as many runs as the CPUs carry
 * (`runsPerCpu` each) and as the memory holds if every sandbox used its whole memory limit
 * (`sandboxMemoryMb`, the operator's ceiling), whichever is fewer; at least 1.
 */
export function chooseRunnerConcurrency(
  host: HostCapacity,
  sandboxMemoryMb: number,
): RunnerConcurrencyChoice {
  const byCpu = Math.max(1, Math.floor(host.cpus * runsPerCpu));
  const byMemory = Math.max(1, Math.floor((host.availableMemoryMb * sandboxMemoryShare) / sandboxMemoryMb));
  const concurrency = Math.min(byCpu, byMemory);
  const cpuPart = `${host.cpus} CPU${host.cpus === 1 ? "" : "s"} × ${runsPerCpu} = ${byCpu}`;
  const memoryPart = `${Math.round(sandboxMemoryShare * 100)} % of ${Math.round(host.availableMemoryMb)} MiB free / ${sandboxMemoryMb} MiB per sandbox = ${byMemory}`;
  return {
    concurrency,
    reason: `${concurrency}: the fewer of ${cpuPart} and ${memoryPart}`,
  };
}
