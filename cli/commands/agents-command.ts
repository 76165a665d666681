import type { Command } from "commander";
import { agentCatalog } from "../../core/agents/agent-catalog.ts";
import { createLogger } from "../../core/logger.ts";
import type { CliContext } from "../cli-context.ts";

export function registerAgentsCommand(program: Command, ctx: CliContext): void {
  program
    .command("agents")
    .description(
      "list the agents Airlock can run (the catalog in core/agents/agent-catalog.ts), with the\n" +
        "version each image pins and the size of its local image (airlock/<id>:latest).\n" +
        "Build an agent's image with: airlock images build --agent <id>",
    )
    .option("--json", "print the catalog as JSON")
    .action(async (flags: { json?: boolean }) => {
      if (flags.json) {
        ctx.stdout.write(`${JSON.stringify(agentCatalog, null, 2)}\n`);
        return;
      }
      // Loaded on use: only the table needs the image folder and the Docker client.
      const [{ readAgentVersion }, { locateAgentImagesDir }, { createDockerContainerRuntime }] =
        await Promise.all([
          import("../../runner/images/read-agent-version.ts"),
          import("../../runner/images/base-image-ref.ts"),
          import("../../runner/container/docker-container-runtime.ts"),
        ]);
      const imagesDir = locateAgentImagesDir();
      const runtime = createDockerContainerRuntime({
        dockerHost: ctx.env.DOCKER_HOST,
        // Silent: an engine that does not answer is said once, below, not logged per image.
        logger: createLogger("silent"),
      });
      let engineError: string | undefined;
      const imageSize = async (repository: string): Promise<string> => {
        if (engineError !== undefined) return "?";
        try {
          const image = await runtime.inspectImage(`${repository}:latest`);
          return image ? `${(image.sizeBytes / 1e6).toFixed(0)} MB` : "not built";
        } catch (error) {
          engineError = (error as Error).message;
          return "?";
        }
      };
      const rows: string[][] = [];
      for (const agent of agentCatalog) {
        const l = agent.defaultLimits;
        rows.push([
          agent.id,
          (await readAgentVersion(agent, imagesDir)) ?? "?",
          agent.api,
          `${agent.image.repository}:<content tag>`,
          await imageSize(agent.image.repository),
          `${l.memoryMb} MB, ${l.cpus} cpu, ${l.pids} pids, ${l.timeoutS} s`,
          agent.defaultModel,
          agent.title,
        ]);
      }
      const header = ["ID", "VERSION", "API", "IMAGE", "SIZE", "DEFAULT LIMITS", "DEFAULT MODEL", "TITLE"];
      const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
      for (const row of [header, ...rows]) {
        ctx.stdout.write(
          `${row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")}\n`,
        );
      }
      if (engineError !== undefined) {
        ctx.stderr.write(`airlock agents: image sizes unknown, Docker did not answer (${engineError})\n`);
      }
    });
}
