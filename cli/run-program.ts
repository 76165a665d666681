import type { Writable } from "node:stream";
import { CommanderError, type Command } from "commander";
import { AirlockError, UsageError } from "../core/errors.ts";

/** Parse argv with the program and turn its outcome into the process exit code. */
export async function runProgram(program: Command, argv: string[], stderr: Writable): Promise<number> {
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
