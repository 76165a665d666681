import type { Writable } from "node:stream";
import { Command, CommanderError } from "commander";
import { AirlockError, UsageError } from "../core/errors.ts";
import { createCliContext } from "./cli-context.ts";
import { registerMigrateCommand } from "./commands/migrate-command.ts";
import { registerProxyCommand } from "./commands/proxy-command.ts";
import { registerTokenCommand } from "./commands/token-command.ts";
import { registerSandboxCommand } from "./commands/sandbox-command.ts";
import { registerImagesCommand } from "./commands/images-command.ts";
import { registerAuditCommand } from "./commands/audit-command.ts";

/** Build the program: one register function per command file. */
export function buildProgram(ctx: ReturnType<typeof createCliContext>): Command {
  const program = new Command("airlock")
    .description(
      "Airlock runs AI coding agents on GitHub issues in a sealed, metered, audited sandbox.\n" +
        "Settings come from the environment; see the README's Configuration section.",
    )
    .version("0.1.0")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    });
  registerMigrateCommand(program, ctx);
  registerProxyCommand(program, ctx);
  registerTokenCommand(program, ctx);
  registerSandboxCommand(program, ctx);
  registerImagesCommand(program, ctx);
  registerAuditCommand(program, ctx);
  return program;
}

/** Run the CLI; returns the process exit code. */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  stdout: Writable = process.stdout,
  stderr: Writable = process.stderr,
): Promise<number> {
  const ctx = createCliContext(env, stdout, stderr);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof UsageError) {
      stderr.write(`airlock: ${error.message}\n`);
      return 2;
    }
    if (error instanceof AirlockError) {
      stderr.write(`airlock: ${error.message} [${error.code}]\n`);
      return 1;
    }
    stderr.write(`airlock: unexpected error: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  }
}
