import type { Command } from "commander";
import { UsageError } from "../../core/errors.ts";
import { runIdPattern } from "../../core/ids.ts";
import { requireSettings } from "../../core/settings/load-settings.ts";
import { mintRunToken } from "../../runner/proxy/run-token.ts";
import type { CliContext } from "../cli-context.ts";

interface TokenOptions {
  run: string;
  ttl: string;
  budgetUsd?: string;
  budgetTokens?: string;
  attempt?: string;
}

function parseWhole(value: string, flag: string): number {
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`${flag} must be a whole number, got ${JSON.stringify(value)}`);
  }
  return Number(value);
}

export function registerTokenCommand(program: Command, ctx: CliContext): void {
  program
    .command("token")
    .description(
      "print a run token for the LLM proxy; records a manual run if the id is new, and sets its budgets when given",
    )
    .requiredOption("--run <id>", "run id (lowercase letters, digits, - and _; no dots)")
    .option("--ttl <seconds>", "token lifetime in seconds", "3600")
    .option(
      "--budget-usd <amount>",
      "the run's budget in USD, e.g. 2.50 (raises or lowers an existing run's)",
    )
    .option("--budget-tokens <n>", "the run's budget in tokens (raises or lowers an existing run's)")
    .option("--attempt <n>", "attempt the token is for (default: the run's current attempt)")
    .action(async (options: TokenOptions) => {
      if (!runIdPattern.test(options.run)) {
        throw new UsageError(
          `--run ${JSON.stringify(options.run)} must match ${String(runIdPattern)} (no dots)`,
        );
      }
      const ttl = parseWhole(options.ttl, "--ttl");
      if (ttl < 1) throw new UsageError("--ttl must be at least 1 second");
      if (options.budgetUsd !== undefined && !/^[0-9]+(\.[0-9]{1,6})?$/.test(options.budgetUsd)) {
        throw new UsageError(
          `--budget-usd must be an amount like 2.50 (up to 6 decimals), got ${options.budgetUsd}`,
        );
      }
      const budgetTokens =
        options.budgetTokens === undefined ? undefined : parseWhole(options.budgetTokens, "--budget-tokens");
      const attempt = options.attempt === undefined ? undefined : parseWhole(options.attempt, "--attempt");
      const secrets = requireSettings(ctx.settings(), ["AIRLOCK_TOKEN_SECRET"], "airlock token");
      const database = await ctx.openMigratedDatabase();
      try {
        // Loaded on use: drizzle costs every other command ~0.4 s to load.
        const { ensureRun, updateRunBudget } = await import("../../core/db/runs.ts");
        const { run, created } = await ensureRun(database.db, {
          id: options.run,
          kind: "manual",
          attempt: attempt ?? 0,
          budgetUsd: options.budgetUsd ?? null,
          budgetTokens: budgetTokens ?? null,
        });
        if (!created) {
          if (attempt !== undefined && attempt !== run.attempt) {
            throw new UsageError(
              `run ${run.id} is at attempt ${run.attempt}; a token for attempt ${attempt} would be refused (omit --attempt)`,
            );
          }
          await updateRunBudget(database.db, run.id, { budgetUsd: options.budgetUsd, budgetTokens });
        }
        const token = mintRunToken({
          runId: run.id,
          attempt: run.attempt,
          expiresAt: Math.floor(Date.now() / 1000) + ttl,
          secret: secrets.AIRLOCK_TOKEN_SECRET,
        });
        ctx.stdout.write(`${token}\n`);
      } finally {
        await database.close();
      }
    });
}
