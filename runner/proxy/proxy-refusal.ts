import type { ProxyErrorKind } from "./send-provider-error.ts";

/** The proxy answering in the upstream's place: a provider-shaped error, counted by `reason`. */
export interface ProxyRefusal {
  status: number;
  kind: ProxyErrorKind;
  /** The `reason` label of airlock_llm_refusals_total. */
  reason: string;
  /** Says why, and what to do about it. */
  message: string;
  headers?: Record<string, string>;
}

/** What a step that may refuse returns. */
export type StepResult<T> = ({ ok: true } & T) | { ok: false; refusal: ProxyRefusal };

export function refuse(
  status: number,
  kind: ProxyErrorKind,
  reason: string,
  message: string,
  headers?: Record<string, string>,
): { ok: false; refusal: ProxyRefusal } {
  return {
    ok: false,
    refusal: headers ? { status, kind, reason, message, headers } : { status, kind, reason, message },
  };
}
