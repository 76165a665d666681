/**
 * What a finished call costs the run's budget (issue 9 §3). The declared usage when the
 * provider declared its final usage, or when it refused the call (an error answer is not
 * billed), or when it was never reached. Otherwise real usage cannot be known — the
 * client hung up before the final usage event (an Anthropic stream aborted after
 * `message_start` has declared its input only), the answer carried no usage, the stream
 * broke off, the upstream timed out while it may still be generating — and the provider
 * may bill up to the cap: the whole reservation is charged (or the declared part, if more).
 * The llm_calls row keeps what the provider declared; only the budget is charged more.
 */
export interface ChargeFacts {
  reservation: { units: number; tokens: number };
  declared: { units: number; tokens: number };
  usageFinal: boolean;
  /** The upstream answered (status line and headers) — false for timeouts, resets, client aborts before it. */
  answered: boolean;
  status: number;
}

export function decideBudgetCharge(facts: ChargeFacts): { units: number; tokens: number } {
  const { reservation, declared } = facts;
  if (facts.usageFinal) return declared;
  if (facts.answered && facts.status >= 400) return declared;
  // 502: no upstream could be reached (refused connection, reset before the request was read).
  if (!facts.answered && facts.status === 502) return declared;
  return {
    units: Math.max(reservation.units, declared.units),
    tokens: Math.max(reservation.tokens, declared.tokens),
  };
}
