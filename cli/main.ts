import type { Writable } from "node:stream";
import type { Command } from "commander";
import { createCliContext } from "./cli-context.ts";
import { createRootCommand } from "./create-root-command.ts";
import { runProgram } from "./run-program.ts";
import { registerMigrateCommand } from "./commands/migrate-command.ts";
import { registerProxyCommand } from "./commands/proxy-command.ts";
import { registerTokenCommand } from "./commands/token-command.ts";
import { registerSandboxCommand } from "./commands/sandbox-command.ts";
import { registerImagesCommand } from "./commands/images-command.ts";
import { registerAuditCommand } from "./commands/audit-command.ts";
import { registerAgentsCommand } from "./commands/agents-command.ts";
import { registerRunCommand } from "./commands/run-command.ts";
import { registerServeCommands } from "./commands/serve-command.ts";

/** Build the program: one register function per command file. */
export function buildProgram(ctx: ReturnType<typeof createCliContext>): Command {
  const program = createRootCommand(ctx);
  registerMigrateCommand(program, ctx);
  registerProxyCommand(program, ctx);
  registerTokenCommand(program, ctx);
  registerSandboxCommand(program, ctx);
  registerImagesCommand(program, ctx);
  registerAuditCommand(program, ctx);
  registerAgentsCommand(program, ctx);
  registerRunCommand(program, ctx);
  registerServeCommands(program, ctx);
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
  return runProgram(buildProgram(ctx), argv, stderr);
}
