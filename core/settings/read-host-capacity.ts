import { availableParallelism } from "node:os";
import type { HostCapacity } from "./choose-runner-concurrency.ts";

/** This host's CPUs and free memory, as chooseRunnerConcurrency takes them. */
export function readHostCapacity(): HostCapacity {
  return {
    cpus: availableParallelism(),
    availableMemoryMb: process.availableMemory() / 2 ** 20,
  };
}
