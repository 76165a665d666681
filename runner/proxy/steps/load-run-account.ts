import type { ProxyContext } from "../proxy-context.ts";
import { refuse, type StepResult } from "../proxy-refusal.ts";
import type { RunAccount } from "../run-ledger.ts";

/**
 * Step 2. The run's account (state, budget, spend). A database we cannot read is a
 * database we cannot record to, so the call is refused rather than served unrecorded.
 */
export async function loadRunAccount(
  ctx: ProxyContext,
  runId: string,
  attempt: number,
): Promise<StepResult<{ account: RunAccount }>> {
  const unavailable = (what: string) =>
    refuse(
      503,
      "unavailable",
      "database",
      `the Airlock proxy cannot ${what} its audit database and serves no call it cannot record; retry later`,
    );
  if (!ctx.recorder.healthy) return unavailable("write to");
  let account: RunAccount | undefined;
  try {
    account = await ctx.ledger.load(runId);
  } catch (error) {
    ctx.deps.logger.error(
      { runId, err: { message: (error as Error).message } },
      "database unreachable; refusing call",
    );
    return unavailable("reach");
  }
  if (!account) {
    return refuse(
      401,
      "authentication",
      "auth",
      "invalid run token: the run is unknown to this Airlock installation",
    );
  }
  if (account.attempt !== attempt) {
    return refuse(
      401,
      "authentication",
      "auth",
      "invalid run token: it was issued for another attempt of this run",
    );
  }
  return { ok: true, account };
}
