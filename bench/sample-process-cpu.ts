import { readdir, readFile } from "node:fs/promises";

/**
 * Which group a process belongs to, from its pid, parent, command name and command line (undefined:
 * none), and whether its reaped children count with it (a runner's git; not a containerd
 * shim's, whose child is the container, counted by its cgroup).
 */
export type ProcessGrouper = (p: {
  pid: number;
  ppid: number;
  comm: string;
  cmdline: string;
}) => { group: string; children: boolean } | undefined;

export interface CpuReport {
  windowS: number;
  /** Busy CPU seconds of the whole machine (/proc/stat), every process included. */
  machineBusyS: number;
  cores: number;
  /** CPU seconds per group, user + system, reaped children included. */
  byGroup: Record<string, number>;
  /** CPU seconds charged to Docker's containers (the cgroup v1 `docker` cpuacct), when readable. */
  containersS: number | undefined;
}

const ticksPerS = 100; // USER_HZ on Linux
const containerCgroup = "/sys/fs/cgroup/cpuacct/docker/cpuacct.usage";

interface Seen {
  group: string;
  fields: number[];
  first: number;
  last: number;
}

/**
 * CPU use per group of processes over a window, from /proc/<pid>/stat deltas (utime + stime
 * and the reaped children's cutime + cstime). Samples every `intervalMs` so that short-lived
 * processes (postgres backends, containerd shims, git) count up to their last sample; a
 * process seen first mid-window counts from zero. Linux only: a bench helper, not product code.
 */
export function startCpuSampler(groupOf: ProcessGrouper, intervalMs = 250): { stop(): Promise<CpuReport> } {
  const seen = new Map<string, Seen>();
  const startedAt = Date.now();
  let first = true;
  const sample = async () => {
    for (const name of await readdir("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      const pid = Number(name);
      const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => undefined);
      if (stat === undefined) continue;
      // The command name sits in parentheses and may hold spaces: fields count from its end.
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      const ticksOf = (indices: number[]) => indices.reduce((sum, i) => sum + Number(fields[i] ?? 0), 0);
      const startTicks = Number(fields[19] ?? 0);
      const key = `${pid}:${startTicks}`;
      const known = seen.get(key);
      if (known) {
        known.last = ticksOf(known.fields);
        continue;
      }
      const cmdline = (await readFile(`/proc/${pid}/cmdline`, "utf8").catch(() => "")).replaceAll("\0", " ");
      const grouped = groupOf({ pid, ppid: Number(fields[1] ?? 0), comm, cmdline });
      if (grouped === undefined) continue;
      // utime, stime; with the children: cutime, cstime.
      const counted = grouped.children ? [11, 12, 13, 14] : [11, 12];
      const ticks = ticksOf(counted);
      seen.set(key, { group: grouped.group, fields: counted, first: first ? ticks : 0, last: ticks });
    }
    first = false;
  };
  const readMachine = async () => {
    const [cpu] = (await readFile("/proc/stat", "utf8")).split("\n");
    const v = (cpu ?? "").trim().split(/\s+/).slice(1).map(Number);
    const idle = (v[3] ?? 0) + (v[4] ?? 0);
    return { busy: v.reduce((a, b) => a + b, 0) - idle };
  };
  const readContainers = () =>
    readFile(containerCgroup, "utf8").then(
      (text) => Number(text.trim()) / 1e9,
      () => undefined,
    );
  const begin = Promise.all([readMachine(), readContainers(), sample()]);
  let running = true;
  const loop = (async () => {
    await begin;
    while (running) {
      await new Promise((r) => setTimeout(r, intervalMs));
      await sample();
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      await sample();
      const [[machine0, containers0], machine1, containers1] = await Promise.all([
        begin,
        readMachine(),
        readContainers(),
      ]);
      const byGroup: Record<string, number> = {};
      for (const s of seen.values())
        byGroup[s.group] = (byGroup[s.group] ?? 0) + (s.last - s.first) / ticksPerS;
      const { availableParallelism } = await import("node:os");
      return {
        windowS: (Date.now() - startedAt) / 1000,
        machineBusyS: (machine1.busy - machine0.busy) / ticksPerS,
        cores: availableParallelism(),
        byGroup,
        containersS:
          containers0 === undefined || containers1 === undefined ? undefined : containers1 - containers0,
      };
    },
  };
}
