import { z } from "zod";
import { AirlockError } from "../errors.ts";
import { runPhases } from "../run-phases.ts";
import { runStates, type RunState } from "../run-states.ts";

/**
 * Every run_events type and the shape of its data: the operational log beside the ledger
 * (state changes, budget warnings, publication). Writers go through appendRunEvent or
 * setRunState, which refuse a type not listed here and data that does not fit.
 */
const stateChangeSchema = z.strictObject({
  from: z.enum(runStates),
  /** Why the run ended (terminal states); becomes runs.outcome_reason. */
  reason: z.string().optional(),
});

const otherSchemas = {
  /** The proxy saw the run pass its soft budget threshold (once per run). */
  "budget.soft_threshold": z.strictObject({
    threshold: z.number().positive(),
    spentUsd: z.string(),
    budgetUsd: z.string().nullable(),
    spentTokens: z.number().int().nonnegative(),
    budgetTokens: z.number().int().nonnegative().nullable(),
  }),
  /** One phase of one segment took `ms` (issue 15; core/run-phases.ts), recorded when it ended. */
  "run.phase": z.strictObject({
    phase: z.enum(runPhases),
    segment: z.number().int().nonnegative(),
    ms: z.number().int().nonnegative(),
  }),
  /** A resumed segment waited `ms` for its capability decisions (awaiting_approval → queued). */
  "run.waited": z.strictObject({
    segment: z.number().int().positive(),
    ms: z.number().int().nonnegative(),
  }),
  "github.published": z.strictObject({
    prNumber: z.number().int().positive().nullable(),
    prUrl: z.string().nullable(),
  }),
  "github.publish_failed": z.strictObject({ error: z.string() }),
  "github.publish_abandoned": z.strictObject({
    failures: z.number().int().positive(),
    lastError: z.string(),
  }),
} as const;

export type StateEventType = `state.${RunState}`;
export type RunEventType = StateEventType | keyof typeof otherSchemas;
export type RunEventData<T extends RunEventType> = T extends StateEventType
  ? z.input<typeof stateChangeSchema>
  : T extends keyof typeof otherSchemas
    ? z.input<(typeof otherSchemas)[T]>
    : never;

const stateEventTypes = new Set<string>(runStates.map((s) => `state.${s}`));

/** The data as it will be stored, refused (typed error) unless the type is known and the data fits. */
export function checkRunEventData<T extends RunEventType>(type: T, data: unknown): RunEventData<T> {
  const schema = stateEventTypes.has(type)
    ? stateChangeSchema
    : Object.hasOwn(otherSchemas, type)
      ? otherSchemas[type as keyof typeof otherSchemas]
      : undefined;
  if (schema === undefined) {
    throw new AirlockError(
      "run_event_invalid",
      `run event type ${JSON.stringify(type)} is not known; add it with its data schema to core/db/run-event-schemas.ts`,
    );
  }
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new AirlockError(
      "run_event_invalid",
      `run event ${type}: data does not fit its schema (core/db/run-event-schemas.ts): ${z.prettifyError(parsed.error)}`,
      { cause: parsed.error },
    );
  }
  return parsed.data as RunEventData<T>;
}
