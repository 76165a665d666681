import type { Command } from "commander";
import type { CliContext } from "../cli-context.ts";

export function registerMigrateCommand(program: Command, ctx: CliContext): void {
  program
    .command("migrate")
    .description("apply database migrations (Postgres when DATABASE_URL is set, else the embedded database)")
    .action(async () => {
      const database = await ctx.openMigratedDatabase();
      try {
        ctx.stdout.write(`migrations applied: ${database.describe}\n`);
      } finally {
        await database.close();
      }
    });
}
