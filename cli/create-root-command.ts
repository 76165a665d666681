import { Command } from "commander";
import type { CliContext } from "./cli-context.ts";

/** The `airlock` program without its commands; entry files register what they serve. */
export function createRootCommand(ctx: CliContext): Command {
  return new Command("airlock")
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
}
