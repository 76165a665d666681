import type { Writable } from "node:stream";
import { createCliContext } from "./cli-context.ts";
import { registerSandboxCommand } from "./commands/sandbox-command.ts";
import { createRootCommand } from "./create-root-command.ts";
import { runProgram } from "./run-program.ts";

/**
 * `airlock sandbox …` without loading every other command: tests and operators start it
 * many times, and its start-up is part of the overhead the benchmark holds to 150 ms
 * (bench/sandbox-exec.ts). bin/airlock.js routes here.
 */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  stdout: Writable = process.stdout,
  stderr: Writable = process.stderr,
): Promise<number> {
  const ctx = createCliContext(env, stdout, stderr);
  const program = createRootCommand(ctx);
  registerSandboxCommand(program, ctx);
  return runProgram(program, argv, stderr);
}
