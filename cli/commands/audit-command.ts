import { createWriteStream } from "node:fs";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Command } from "commander";
import type { Db } from "../../core/db/open-database.ts";
import { AirlockError, UsageError } from "../../core/errors.ts";
import { requireSettings } from "../../core/settings/load-settings.ts";
import type { CliContext } from "../cli-context.ts";

export function registerAuditCommand(program: Command, ctx: CliContext): void {
  const audit = program
    .command("audit")
    .description("check or export a run's audit ledger (a hash chain with an HMAC per entry)");

  audit
    .command("verify")
    .summary("check a run's chain; names the first bad entry")
    .description(
      "recompute a run's chain: exit 0 and print its head when intact, exit 1 naming the first bad " +
        "entry (changed, deleted, reordered or forged), exit 2 when the run is unknown.\n" +
        "Needs AIRLOCK_TOKEN_SECRET, the secret the entries were signed with (its ledger key).",
    )
    .argument("<run>", "run id")
    .option(
      "--head <hash>",
      "also require this hash to be an entry of the chain, a checkpoint later entries may follow " +
        "(a commit's Airlock-Audit: trailer, or the head in the PR body)",
    )
    .action(async (runId: string, options: { head?: string }) => {
      const secrets = requireSettings(ctx.settings(), ["AIRLOCK_TOKEN_SECRET"], "airlock audit verify");
      const database = await ctx.openMigratedDatabase();
      try {
        await requireRun(database.db, runId);
        const { verifyAuditChain } = await import("../../core/audit/verify-audit-chain.ts");
        const result = await verifyAuditChain(database.db, runId, secrets.AIRLOCK_TOKEN_SECRET, {
          expectedHead: options.head,
        });
        if (!result.ok) {
          throw new AirlockError(
            "audit_chain_broken",
            `audit ledger of run ${runId} fails at position ${result.position}: ${result.reason}`,
          );
        }
        ctx.stdout.write(`ok: ${result.count} entries, head ${result.head}\n`);
        if (result.checkpoint) {
          ctx.stdout.write(
            `checkpoint ${options.head} is entry ${result.checkpoint.position}; ` +
              `${result.count - result.checkpoint.position} later entries follow it\n`,
          );
        }
        if (result.legacyEntries) {
          ctx.stdout.write(
            `note: the first ${result.legacyEntries} entries carry the legacy HMAC (keyed with the raw ` +
              "AIRLOCK_TOKEN_SECRET, before the ledger key was derived apart); they verify with this secret\n",
          );
        }
      } finally {
        await database.close();
      }
    });

  audit
    .command("export")
    .summary("write a run's ledger as JSONL")
    .description("write a run's ledger as JSON lines, one entry per line in seq order (stdout by default)")
    .argument("<run>", "run id")
    .option("-o, --output <file>", "write to this file instead of stdout (replaced if it exists)")
    .action(async (runId: string, options: { output?: string }) => {
      const database = await ctx.openMigratedDatabase();
      try {
        await requireRun(database.db, runId);
        const { exportAuditChain } = await import("../../core/audit/export-audit-chain.ts");
        let count = 0;
        const lines = Readable.from(
          (async function* () {
            for await (const line of exportAuditChain(database.db, runId)) {
              count++;
              yield `${line}\n`;
            }
          })(),
        );
        if (options.output === undefined) {
          await pipeline(lines, ctx.stdout, { end: false });
        } else {
          await pipeline(lines, createWriteStream(options.output));
          ctx.stderr.write(`exported ${count} entries of run ${runId} to ${options.output}\n`);
        }
      } finally {
        await database.close();
      }
    });
}

// Database modules are loaded on use: drizzle costs every other command ~0.4 s to load.
async function requireRun(db: Db, runId: string): Promise<void> {
  const { getRun } = await import("../../core/db/runs.ts");
  if (!(await getRun(db, runId))) {
    throw new UsageError(
      `no run ${runId} in this database (check the id, and DATABASE_URL / AIRLOCK_DATA_DIR)`,
    );
  }
}
