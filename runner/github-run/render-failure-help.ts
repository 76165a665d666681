/**
 * What a maintainer can do about a run that did not produce a pull request, by outcome.
 * Reason codes are the run's final state (DESIGN run states), so they can be searched for.
 */
export function renderFailureHelp(outcome: string): string {
  switch (outcome) {
    case "budget_exhausted":
      return "The run spent its budget. Raise `budget.usd` or `budget.tokens` in `.github/airlock.yml`, or narrow the task, then comment `/airlock retry`.";
    case "timed_out":
      return "The agent did not finish before its deadline. Raise `limits.timeout_minutes` in `.github/airlock.yml` (the operator's ceiling still applies) or split the task, then comment `/airlock retry`.";
    case "disk_limit":
      return "The agent filled the workspace's disk cap (`AIRLOCK_MAX_DISK_MB`, set by the operator). Narrow the task or ask the operator for a larger cap, then comment `/airlock retry`.";
    case "cancelled":
      return "The run was stopped on request. Comment `/airlock retry` to start the same task again.";
    case "succeeded":
      return "The agent finished without changing any file that could be pushed. Add detail to the issue and comment `/airlock retry`.";
    default:
      return "Comment `/airlock retry` to try again. If it fails the same way, the operator can read the run's log and ledger with `airlock audit export <run>`.";
  }
}
