/** One domain the agent tried and was refused, with how often and why. */
export interface BlockedAttempt {
  /** The name asked for, or the raw target when it was no name (an IP address, garbage). */
  domain: string;
  port: number | null;
  reason: string;
  attempts: number;
  firstAt: Date;
  lastAt: Date;
}

export interface BlockedAttempts {
  /** Count one refusal; returns true the first time this (domain, port, reason) is seen. */
  add(attempt: { domain: string; port: number | null; reason: string }, at?: Date): boolean;
  /** Every distinct refusal so far, in the order first seen. */
  list(): BlockedAttempt[];
}

/** Most distinct refusals kept; an agent that loops over random names cannot grow this without end. */
const maxDistinct = 1_000;

/**
 * The blocked attempts of one run, deduplicated with counts, so the PR can show each
 * domain the agent tried (issue 10 §9) without one line per retry.
 */
export function createBlockedAttempts(): BlockedAttempts {
  const seen = new Map<string, BlockedAttempt>();
  let overflow: BlockedAttempt | undefined;
  return {
    add(attempt, at = new Date()) {
      const key = JSON.stringify([attempt.domain, attempt.port, attempt.reason]);
      const known = seen.get(key);
      if (known) {
        known.attempts += 1;
        known.lastAt = at;
        return false;
      }
      if (seen.size >= maxDistinct) {
        overflow ??= {
          domain: "(more)",
          port: null,
          reason: "further distinct refusals",
          attempts: 0,
          firstAt: at,
          lastAt: at,
        };
        overflow.attempts += 1;
        overflow.lastAt = at;
        return false;
      }
      seen.set(key, { ...attempt, attempts: 1, firstAt: at, lastAt: at });
      return true;
    },
    list() {
      const all = [...seen.values(), ...(overflow ? [overflow] : [])];
      return all.map((a) => ({ ...a }));
    },
  };
}
