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
  /** Body bytes claimed so far: the declared length, or what arrived of a chunked body. */
  bytes: number;
  released: boolean;
}

/** Why a request or a body chunk was not admitted. */
export type AdmissionLimit =
  | "concurrency"
  /** The body alone is larger than a single body, or than the whole run's allowance, may be. */
  | "body_too_large"
  /** The body would fit, but other in-flight bodies of the run hold the allowance. */
  | "body_allowance";

export type AdmitResult = { ok: true; ticket: AdmissionTicket } | { ok: false; limit: AdmissionLimit };

export interface RunAdmission {
  readonly limits: AdmissionLimits;
  /** Take a slot and claim `declaredBytes` (0 when the length is not declared). */
  admit(runId: string, declaredBytes: number): AdmitResult;
  /** Claim `bytes` more for a body that arrived past what was claimed. */
  grow(ticket: AdmissionTicket, bytes: number): { ok: true } | { ok: false; limit: AdmissionLimit };
  /** Free the slot and the claimed bytes; safe to call twice. */
  release(ticket: AdmissionTicket): void;
  /** What a run holds now. */
  inUse(runId: string): { requests: number; bodyBytes: number };
}

export function createRunAdmission(limits: AdmissionLimits): RunAdmission {
  const runs = new Map<string, { requests: number; bodyBytes: number }>();
  const singleBodyLimit = Math.min(limits.maxBodyBytes, limits.maxBodyBytesPerRun);

  const checkBytes = (held: number, claimed: number, more: number): AdmissionLimit | undefined => {
    if (claimed + more > singleBodyLimit) return "body_too_large";
    if (held + more > limits.maxBodyBytesPerRun) return "body_allowance";
    return undefined;
  };

  return {
    limits,
    admit(runId, declaredBytes) {
      const run = runs.get(runId) ?? { requests: 0, bodyBytes: 0 };
      if (run.requests >= limits.maxConcurrentPerRun) return { ok: false, limit: "concurrency" };
      const refused = checkBytes(run.bodyBytes, 0, declaredBytes);
      if (refused) return { ok: false, limit: refused };
      run.requests += 1;
      run.bodyBytes += declaredBytes;
      runs.set(runId, run);
      return { ok: true, ticket: { runId, bytes: declaredBytes, released: false } };
    },
    grow(ticket, bytes) {
      const run = runs.get(ticket.runId);
      if (ticket.released || !run) return { ok: false, limit: "body_allowance" };
      const refused = checkBytes(run.bodyBytes, ticket.bytes, bytes);
      if (refused) return { ok: false, limit: refused };
      run.bodyBytes += bytes;
      ticket.bytes += bytes;
      return { ok: true };
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
  };
}
