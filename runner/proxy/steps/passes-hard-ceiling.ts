import type { CallRecord } from "../call-record.ts";
import type { StreamMeter } from "../meter-usage.ts";
import type { ProxyContext } from "../proxy-context.ts";
import { countTotalTokens, priceUsage } from "../usage.ts";

/**
 * True when the usage this stream has declared so far takes its run past budget × the
 * hard ceiling ratio, counting the run's spend and the other calls' reservations.
 */
export function passesHardCeiling(ctx: ProxyContext, call: CallRecord, meter: StreamMeter): boolean {
  const account = call.account;
  const reservation = call.reservation;
  if (!reservation || !call.route.billable) return false;
  const ratio = ctx.budgetPolicy.hardCeilingRatio;
  const others = {
    units: account.reservedUnits - reservation.units,
    tokens: account.reservedTokens - reservation.tokens,
  };
  if (account.budgetTokens !== undefined) {
    const live = countTotalTokens(meter.usage);
    if (account.spentTokens + others.tokens + live > account.budgetTokens * ratio) return true;
  }
  if (account.budgetUnits !== undefined) {
    const live = priceUsage(ctx.prices, [call.model, meter.model], meter.usage).costUnits;
    if (account.spentUnits + others.units + live > account.budgetUnits * ratio) return true;
  }
  return false;
}
