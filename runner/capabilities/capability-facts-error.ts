import { AirlockError } from "../../core/errors.ts";

/**
 * Facts could not be gathered. `reason` says which: the thing asked for does not exist
 * (`not_found`), the source could not be reached or timed out (`unavailable`), or it
 * answered something unreadable (`malformed`).
 */
export class CapabilityFactsError extends AirlockError {
  readonly reason: "not_found" | "unavailable" | "malformed";
  constructor(reason: CapabilityFactsError["reason"], message: string, options?: { cause?: unknown }) {
    super(`capability_facts_${reason}`, message, options);
    this.name = "CapabilityFactsError";
    this.reason = reason;
  }
}
