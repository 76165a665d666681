/**
 * Host protection, per run (issue 9 §4): how many requests a run has in flight, and how
 * many bytes of request bodies they hold between them. A slot and the body's declared
 * size are claimed before a byte of the body is read, so a run cannot make the proxy
 * buffer more than its allowance, however many uploads it starts. The proxy's memory is
 * the runner's, outside every container limit.
 */
export interface AdmissionLimits {
  maxConcurrentPerRun: number;
  /** Bytes of request bodies one run's in-flight requests may hold together. */
  maxBodyBytesPerRun: number;
  /** Largest single body. */
  maxBodyBytes: number;
}

export interface AdmissionTicket {
  runId: string;
  /** Body bytes claimed: the declared length, or the single-body limit while a body of unknown length arrives. */
  bytes: number;
  released: boolean;
}

/** Why a request was not admitted. */
export type AdmissionLimit =
  | "concurrency"
  /** The declared body alone is larger than a single body, or the whole run's allowance, may be. */
  | "body_too_large"
  /** The body would fit, but other in-flight bodies of the run hold the allowance. */
  | "body_allowance";

export type AdmitResult = { ok: true; ticket: AdmissionTicket } | { ok: false; limit: AdmissionLimit };

export interface RunAdmission {
  readonly limits: AdmissionLimits;
  /** The largest single body: the smaller of the single-body limit and the run's allowance. */
  readonly maxSingleBodyBytes: number;
  /**
   * Take a slot and claim the body's bytes: `declaredBytes`, or for a body of unknown
   * length (chunked) the largest single body, since nothing else bounds it while it arrives.
   */
  admit(runId: string, declaredBytes: number | undefined): AdmitResult;
  /** The body has arrived whole: keep only its real size claimed. */
  settleBody(ticket: AdmissionTicket, actualBytes: number): void;
  /** Free the slot and the claimed bytes; safe to call twice. */
  release(ticket: AdmissionTicket): void;
  /** What a run holds now. */
  inUse(runId: string): { requests: number; bodyBytes: number };
  /** Body bytes held by all runs together. */
  totalBodyBytes(): number;
}

/*
 * Why a chunked body claims the maximum up front rather than growing as it arrives: with
 * growing claims, 64 chunked uploads share the allowance and are refused one after another
 * as they outgrow it, so the proxy reads (and leaves for the garbage collector) several
 * times the allowance. Claimed up front, every refusal happens before a byte is read.
 */
export function createRunAdmission(limits: AdmissionLimits): RunAdmission {
  const runs = new Map<string, { requests: number; bodyBytes: number }>();
  const maxSingleBodyBytes = Math.min(limits.maxBodyBytes, limits.maxBodyBytesPerRun);

  return {
    limits,
    maxSingleBodyBytes,
    admit(runId, declaredBytes) {
      const run = runs.get(runId) ?? { requests: 0, bodyBytes: 0 };
      if (run.requests >= limits.maxConcurrentPerRun) return { ok: false, limit: "concurrency" };
      const claim = declaredBytes ?? maxSingleBodyBytes;
      if (claim > maxSingleBodyBytes) return { ok: false, limit: "body_too_large" };
      if (run.bodyBytes + claim > limits.maxBodyBytesPerRun) return { ok: false, limit: "body_allowance" };
      run.requests += 1;
      run.bodyBytes += claim;
      runs.set(runId, run);
      return { ok: true, ticket: { runId, bytes: claim, released: false } };
    },
    settleBody(ticket, actualBytes) {
      const run = runs.get(ticket.runId);
      if (ticket.released || !run || actualBytes >= ticket.bytes) return;
      run.bodyBytes -= ticket.bytes - actualBytes;
      ticket.bytes = actualBytes;
    },
    release(ticket) {
      if (ticket.released) return;
      ticket.released = true;
      const run = runs.get(ticket.runId);
      if (!run) return;
      run.requests -= 1;
      run.bodyBytes -= ticket.bytes;
      if (run.requests === 0) runs.delete(ticket.runId);
    },
    inUse(runId) {
      const run = runs.get(runId);
      return { requests: run?.requests ?? 0, bodyBytes: run?.bodyBytes ?? 0 };
    },
    totalBodyBytes() {
      let total = 0;
      for (const run of runs.values()) total += run.bodyBytes;
      return total;
    },
  };
}
