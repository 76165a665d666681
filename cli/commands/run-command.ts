import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";
import { collectFlagValues } from "../parse-grant-flags.ts";
import type { RunFlags } from "./execute-run-command.ts";

export function registerRunCommand(program: Command, ctx: CliContext): void {
  program
    .command("run")
    .description(
      "one whole run without GitHub: clone the repository on the host, run the agent sealed with " +
        "the metered proxy as its only door, relay its work to branch airlock/<run> in --repo, and " +
        "print the audit summary (markdown). With no LLM configured (no OPENAI_API_KEY, " +
        "OPENAI_BASE_URL or ANTHROPIC_API_KEY) it uses Airlock's scripted demo model and says so.",
    )
    .requiredOption(
      "--repo <path or url>",
      "the repository: a local path, or a git URL pushed with your own git credentials",
    )
    .requiredOption("--agent <id>", "the agent (see airlock agents)")
    .requiredOption("--prompt <text>", "what the agent should do (handed to it as untrusted input)")
    .option("--model <id>", "the model the agent asks for (default: the agent's)")
    .option("--budget-usd <amount>", "stop the run's LLM calls after this many US dollars")
    .option("--budget-tokens <n>", "stop the run's LLM calls after this many tokens")
    .option(
      "--timeout <seconds>",
      "the sandbox deadline (default: the agent's; capped by AIRLOCK_MAX_TIMEOUT_S)",
    )
    .option(
      "--grant <kind:name[@version]>",
      "pre-approve a capability for the agent (repeatable): apt:<debian package>[@<version>], " +
        "npm:<package>[@<exact version>] or pip:<package>[==<version>] (pip needs AIRLOCK_PIP_INDEX_URL), " +
        "network:<domain> (reached through Airlock's egress proxy) or llm-tool:<hosted tool type>. " +
        "Packages go into the agent's image, rebuilt; the ledger and the summary record every grant",
      collectFlagValues,
    )
    .option(
      "--deny-requests",
      "deny every capability the agent asks for during the run, without asking (for scripts). " +
        "Without it, each request is asked on the terminal; with no terminal, requests are denied " +
        "and the agent is told to do without",
    )
    .addHelpText(
      "after",
      "\nExamples:\n" +
        '  airlock run --repo . --agent builtin --prompt "Add a CONTRIBUTING.md"\n' +
        '  airlock run --repo . --agent builtin --grant apt:jq --prompt "Pretty-print data.json with jq"\n' +
        '  airlock run --repo https://git.example.com/me/proj.git --agent builtin --prompt "Fix the typo in README" --budget-usd 0.50\n' +
        "Needs AIRLOCK_TOKEN_SECRET (openssl rand -hex 32; keep it: it verifies the audit ledger later)\n" +
        "and Docker. The run is stored in DATABASE_URL, or the embedded database under AIRLOCK_DATA_DIR.",
    )
    .action(async (flags: RunFlags) => {
      // Loaded on use: the run's dependencies (Docker, proxy, relay) would slow every command.
      const { runCommand } = await import("./execute-run-command.ts");
      process.exitCode = await runCommand(ctx, flags);
    });
}
