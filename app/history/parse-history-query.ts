import { z } from "zod";
import { runStates, type RunState } from "../../core/run-states.ts";

/** An empty form field ("All") means no filter. */
const blankToUndefined = (value: unknown) =>
  typeof value === "string" && value.trim() === "" ? undefined : value;

const querySchema = z.object({
  repo: z.preprocess(
    blankToUndefined,
    z.string().trim().max(200, "a repository name is at most 200 characters (owner/name)").optional(),
  ),
  state: z.preprocess(
    blankToUndefined,
    z.enum(runStates, { error: `state must be one of ${runStates.join(", ")}` }).optional(),
  ),
  page: z.preprocess(
    blankToUndefined,
    z.coerce
      .number({ error: "page must be a whole number" })
      .int("page must be a whole number")
      .min(1, "pages start at 1")
      .max(1_000_000, "page is too large")
      .default(1),
  ),
});

export interface HistoryQuery {
  repo: string | undefined;
  state: RunState | undefined;
  page: number;
}

/** The list's query string (`?repo=&state=&page=`), checked: a bad value gets a message saying what is allowed. */
export function parseHistoryQuery(
  query: Record<string, string>,
): { ok: true; query: HistoryQuery } | { ok: false; problem: string } {
  const parsed = querySchema.safeParse(query);
  if (!parsed.success) {
    return { ok: false, problem: parsed.error.issues.map((issue) => issue.message).join("; ") };
  }
  const { repo, state, page } = parsed.data;
  return { ok: true, query: { repo, state, page } };
}
