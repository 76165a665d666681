import type { Command } from "commander";
import { chooseRunnerConcurrency } from "../../core/settings/choose-runner-concurrency.ts";
import { readHostCapacity } from "../../core/settings/read-host-capacity.ts";
import type { CliContext } from "../cli-context.ts";

const environmentHelp = `
Environment (see the README's Configuration section):
  APP_ID, PRIVATE_KEY or PRIVATE_KEY_PATH, WEBHOOK_SECRET   the GitHub App (app, up, runner)
  GITHUB_API_URL        GitHub's API (default https://api.github.com; GHES: https://<host>/api/v3)
  DATABASE_URL          Postgres shared by app and runners (required for app and runner alone;
                        \`up\` without it uses the embedded database in .airlock/)
  AIRLOCK_TOKEN_SECRET  signs run tokens and the audit ledger (all three)
  OPENAI_API_KEY / OPENAI_BASE_URL, ANTHROPIC_API_KEY / ANTHROPIC_BASE_URL   the LLM upstreams (runner, up)
  PORT, HOST            where the app listens (default 0.0.0.0:3000); webhooks at /api/github/webhooks
  WEBHOOK_PROXY_URL     a smee channel for development
  AIRLOCK_LEASE_S, AIRLOCK_RUNNER_CONCURRENCY, AIRLOCK_RUNNER_ID   runner tuning; runs beyond
                        the concurrency wait in the queue for a free slot
  AIRLOCK_HISTORY_TOKEN the operators' token for the run-history page at /history (app, up);
                        unset, the page is off`;

/**
 * The runner's concurrency on this host and why (issue 15): the setting if set, else the
 * default chooseRunnerConcurrency picks. `--help` works with a broken environment, so a
 * setting that does not parse falls back to the default ceiling.
 */
function describeConcurrency(ctx: CliContext): string {
  let reason: string;
  try {
    reason = ctx.settings().runner.concurrencyReason;
  } catch {
    reason = chooseRunnerConcurrency(readHostCapacity(), 4096).reason;
  }
  return `\n\nAIRLOCK_RUNNER_CONCURRENCY on this host: ${reason}.\n  (Default: the fewer of 2 runs per CPU and the sandboxes that fit in 75 % of the free memory\n  at AIRLOCK_MAX_MEMORY_MB each; measured in the README, "Runs per minute".)`;
}

/** `airlock up`, `airlock app`, `airlock runner` (DESIGN §3): the long-running services. */
export function registerServeCommands(program: Command, ctx: CliContext): void {
  const serve = async (parts: { app: boolean; runner: boolean }) => {
    const { serveAirlock } = await import("./execute-serve-command.ts");
    await serveAirlock(ctx, parts);
  };
  program
    .command("up")
    .description("the GitHub App and a runner in one process (the single-machine default)")
    .addHelpText("after", () => environmentHelp + describeConcurrency(ctx))
    .action(() => serve({ app: true, runner: true }));
  program
    .command("app")
    .description(
      "the GitHub App alone: webhooks, /healthz, /metrics; without APP_ID it offers the register-a-GitHub-App flow",
    )
    .addHelpText("after", environmentHelp)
    .action(() => serve({ app: true, runner: false }));
  program
    .command("runner")
    .description("a runner alone: claims runs from the database and works them (run several to scale out)")
    .addHelpText("after", () => environmentHelp + describeConcurrency(ctx))
    .action(() => serve({ app: false, runner: true }));
}
