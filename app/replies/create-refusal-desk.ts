import type { Logger } from "../../core/logger.ts";

/** What became of one refusal handed to the desk. */
export type RefusalOutcome = "posted" | "duplicate" | "dropped" | "failed";

export interface RefusalRequest {
  installationId: number;
  /** owner/name */
  repo: string;
  issueNumber: number;
  sender: string;
  /** Posts the reply; called at most once, later, off the delivery's path. */
  post: () => Promise<void>;
  log: Logger;
}

/**
 * Replies anyone can ask for — a refusal to a sender below `min_permission` or to a bot,
 * help, "not an Airlock pull request" — go through here, never inline.
 *
 * Why: on a public repository anyone can comment `/airlock run`, and Octokit's throttling
 * plugin paces every write of one installation through one queue (a comment every 3 s).
 * Posted inline, 60 strangers' refusals put a maintainer's tracking comment 33 s behind
 * them, growing with every stranger (issue 9 §6). So:
 * 1. a sender gets at most one such reply per issue in `windowMs` (10 min);
 * 2. an installation gets at most `maxPerMinute` of them; past that they are dropped
 *    (logged, counted in `airlock_refusals_total{outcome="dropped"}`), not posted;
 * 3. they are posted one at a time per installation, `gapMs` apart, after the delivery has
 *    been answered: at most one refusal sits in Octokit's queue at any time, so an admitted
 *    run's comment waits behind one refusal at most, however many strangers there are.
 *
 * The memory is this process's: with several app processes each keeps its own window and
 * rate, so a sender may get one reply per process, and the rate is per process.
 */
export interface RefusalDesk {
  /** Queues the reply, or says why not; never waits for GitHub. */
  submit(request: RefusalRequest): Exclude<RefusalOutcome, "posted" | "failed"> | "queued";
  /** Resolves once every queued reply has been posted (or has failed). */
  idle(): Promise<void>;
}

export interface RefusalDeskOptions {
  windowMs?: number | undefined;
  maxPerMinute?: number | undefined;
  /** Above Octokit's 3 s between two comments of one installation, so the next refusal never queues there behind the last. */
  gapMs?: number | undefined;
  /** Refusals waiting per installation; past it they are dropped as over the rate. */
  maxQueued?: number | undefined;
  onOutcome?: ((outcome: RefusalOutcome) => void) | undefined;
  now?: (() => number) | undefined;
  wait?: ((ms: number) => Promise<void>) | undefined;
}

interface Lane {
  tail: Promise<void>;
  queued: number;
  lastPostEnd: number | undefined;
  /** When recent refusals were queued, for the per-minute rate. */
  recent: number[];
}

const minuteMs = 60_000;

export function createRefusalDesk(options: RefusalDeskOptions = {}): RefusalDesk {
  const windowMs = options.windowMs ?? 10 * minuteMs;
  const maxPerMinute = options.maxPerMinute ?? 6;
  const gapMs = options.gapMs ?? 3_500;
  const maxQueued = options.maxQueued ?? maxPerMinute;
  const now = options.now ?? Date.now;
  const wait = options.wait ?? ((ms: number) => new Promise<void>((done) => setTimeout(done, ms)));
  const count = options.onOutcome ?? (() => {});
  const repliedAt = new Map<string, number>();
  const lanes = new Map<number, Lane>();

  const forget = (t: number) => {
    for (const [key, at] of repliedAt) if (t - at >= windowMs) repliedAt.delete(key);
  };

  return {
    submit(request) {
      const t = now();
      if (repliedAt.size > 1_000) forget(t);
      const key = `${request.repo.toLowerCase()}#${request.issueNumber}@${request.sender.toLowerCase()}`;
      const last = repliedAt.get(key);
      if (last !== undefined && t - last < windowMs) {
        request.log.info({ sender: request.sender }, "refusal not repeated: this sender had one here lately");
        count("duplicate");
        return "duplicate";
      }
      let lane = lanes.get(request.installationId);
      if (lane === undefined) {
        lane = { tail: Promise.resolve(), queued: 0, lastPostEnd: undefined, recent: [] };
        lanes.set(request.installationId, lane);
      }
      lane.recent = lane.recent.filter((at) => t - at < minuteMs);
      if (lane.recent.length >= maxPerMinute || lane.queued >= maxQueued) {
        request.log.warn(
          { sender: request.sender, perMinute: maxPerMinute, queued: lane.queued },
          "refusal dropped: over the rate of refusals for this installation",
        );
        count("dropped");
        return "dropped";
      }
      repliedAt.set(key, t);
      lane.recent.push(t);
      lane.queued += 1;
      const current = lane;
      current.tail = current.tail.then(async () => {
        try {
          if (current.lastPostEnd !== undefined) await wait(Math.max(0, current.lastPostEnd + gapMs - now()));
          await request.post();
          count("posted");
        } catch (error) {
          request.log.warn({ err: (error as Error).message }, "could not post a refusal");
          count("failed");
        } finally {
          current.lastPostEnd = now();
          current.queued -= 1;
        }
      });
      return "queued";
    },
    async idle() {
      for (;;) {
        const tails = [...lanes.values()].map((l) => l.tail);
        await Promise.all(tails);
        if ([...lanes.values()].every((l) => l.queued === 0)) return;
      }
    },
  };
}
