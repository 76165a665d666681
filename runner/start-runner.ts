import { setTimeout as sleep } from "node:timers/promises";
import { appendAuditEvent } from "../core/audit/append-audit-event.ts";
import type { Run } from "../core/db/schema.ts";
import { handleClaimedRun, type HandleClaimedRunDeps } from "./github-run/handle-claimed-run.ts";
import { claimRun, releaseRunLease, renewRunLease } from "../core/db/runs.ts";
import { isTerminalRunState } from "../core/run-states.ts";

export interface StartRunnerOptions extends HandleClaimedRunDeps {
  /** How long a claim holds without renewal; a run whose runner died is taken again after it. */
  leaseS: number;
  /**
   * Pause between empty polls of the queue (default 250 ms: a queued run waited half a
   * second on average at 1 s, issue 15; an empty poll is one indexed query).
   */
  pollMs?: number | undefined;
  /** Runs worked on at once by this process. */
  concurrency?: number | undefined;
  onRunStart?: ((runId: string) => void) | undefined;
  onRunDone?: ((runId: string) => void) | undefined;
  /** A claimed run was another runner's, whose lease lapsed mid-run (it died): the lease-takeover count. */
  onLeaseTakeover?: ((runId: string) => void) | undefined;
}

export interface RunnerService {
  /** Runs this process holds right now. */
  active(): string[];
  /** Stops claiming; waits for the runs in hand to end. */
  stop(): Promise<void>;
}

/**
 * The runner (DESIGN §1 step 2): claims GitHub runs from Postgres and works them, renewing
 * each claim's lease every few seconds. The renewal also carries `/airlock stop`: a cancel
 * request aborts the run, which kills its container. When a run cannot be finished or
 * published (GitHub down, say), its lease is left to lapse rather than released, so it is
 * tried again after `leaseS` instead of in a tight loop.
 */
export function startRunner(options: StartRunnerOptions): RunnerService {
  const { db } = options;
  const log = options.logger.child({ component: "runner", runnerId: options.runnerId });
  const stopping = new AbortController();
  const active = new Set<string>();
  const heartbeatMs = Math.min(2000, (options.leaseS * 1000) / 3);

  const loop = async (slot: number): Promise<void> => {
    while (!stopping.signal.aborted) {
      let run: Run | undefined;
      try {
        run = await claimRun(db, { runnerId: options.runnerId, leaseS: options.leaseS });
      } catch (error) {
        log.error({ err: (error as Error).message, slot }, "could not claim from the queue");
      }
      if (run === undefined) {
        await sleep(options.pollMs ?? 250, undefined, { signal: stopping.signal }).catch(() => {});
        continue;
      }
      const runLog = log.child({ runId: run.id, attempt: run.attempt });
      runLog.info({ state: run.state }, "claimed a run");
      active.add(run.id);
      options.onRunStart?.(run.id);
      // The claim raised the attempt of an unfinished run: an earlier claim's runner stopped
      // renewing (handleClaimedRun records the same as `run.reclaimed`).
      if (run.attempt > 1 && !isTerminalRunState(run.state)) options.onLeaseTakeover?.(run.id);
      const abort = new AbortController();
      let cancelRecorded = false;
      const heartbeat = setInterval(() => {
        renewRunLease(db, { runId: run.id, runnerId: options.runnerId, leaseS: options.leaseS }).then(
          async (status) => {
            if (!status.held) {
              runLog.error("lost the run's lease to another runner; stopping work on it");
              abort.abort(new Error("this runner lost the run's lease"));
            } else if (status.cancelRequested && !cancelRecorded) {
              cancelRecorded = true;
              runLog.info({ by: status.cancelRequestedBy }, "stop requested");
              await appendAuditEvent(db, {
                runId: run.id,
                type: "run.stop_seen",
                data: { by: status.cancelRequestedBy ?? null, runner: options.runnerId },
                secret: options.tokenSecret,
              });
              abort.abort(new Error(`stopped by @${status.cancelRequestedBy ?? "a maintainer"}`));
            }
          },
          (error: unknown) => runLog.warn({ err: (error as Error).message }, "could not renew the lease"),
        );
      }, heartbeatMs);
      let finished = false;
      try {
        await handleClaimedRun(options, run, abort.signal);
        finished = true;
      } catch (error) {
        runLog.error(
          { err: (error as Error).message },
          "run not finished; it is retried when its lease lapses",
        );
      } finally {
        clearInterval(heartbeat);
        active.delete(run.id);
        if (finished)
          await releaseRunLease(db, { runId: run.id, runnerId: options.runnerId }).catch(() => {});
        options.onRunDone?.(run.id);
      }
    }
  };

  const loops = Array.from({ length: Math.max(1, options.concurrency ?? 1) }, (_, slot) => loop(slot));
  log.info({ leaseS: options.leaseS, concurrency: loops.length }, "runner started");
  return {
    active: () => [...active],
    async stop() {
      stopping.abort();
      await Promise.all(loops);
      log.info("runner stopped");
    },
  };
}
