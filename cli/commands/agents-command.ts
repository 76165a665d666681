import type { Command } from "commander";
import { agentCatalog } from "../../core/agents/agent-catalog.ts";
import type { CliContext } from "../cli-context.ts";

export function registerAgentsCommand(program: Command, ctx: CliContext): void {
  program
    .command("agents")
    .description(
      "list the agents Airlock can run (the catalog in core/agents/agent-catalog.ts).\n" +
        "Build an agent's image with: airlock images build --agent <id>",
    )
    .option("--json", "print the catalog as JSON")
    .action((flags: { json?: boolean }) => {
      if (flags.json) {
        ctx.stdout.write(`${JSON.stringify(agentCatalog, null, 2)}\n`);
        return;
      }
      const rows = agentCatalog.map((agent) => {
        const l = agent.defaultLimits;
        return [
          agent.id,
          agent.api,
          `${agent.image.repository}:<content tag>`,
          `${l.memoryMb} MB, ${l.cpus} cpu, ${l.pids} pids, ${l.timeoutS} s`,
          agent.defaultModel,
          agent.title,
        ];
      });
      const header = ["ID", "API", "IMAGE", "DEFAULT LIMITS", "DEFAULT MODEL", "TITLE"];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const row of [header, ...rows]) {
        ctx.stdout.write(
          `${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")}\n`,
        );
      }
    });
}
