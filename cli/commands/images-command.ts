import { readdirSync, existsSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { UsageError } from "../../core/errors.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { locateAgentImagesDir } from "../../runner/images/base-image-ref.ts";
import { buildBaseImage } from "../../runner/images/build-base-image.ts";
import type { CliContext } from "../cli-context.ts";

interface BuildFlags {
  agent?: string;
  baseImage?: string;
  cache: boolean;
}

export function registerImagesCommand(program: Command, ctx: CliContext): void {
  const images = program.command("images").description("build the sandbox images from agent-images/");
  images
    .command("build")
    .description(
      "build airlock/base:<VERSION> from agent-images/base (and, with --agent, an agent's image).\n" +
        "Node is fetched on this host with npm into agent-images/base/.context/ (once, then cached).\n" +
        "A rebuild with nothing changed takes every layer from Docker's cache.\n" +
        "Without a registry, first create the base image with scripts/build-offline-base.sh.",
    )
    .option("--agent <id>", "also build this agent's image (agent ids are folders of agent-images/)")
    .option("--base-image <ref>", "the image to build FROM (default: the Dockerfile's ARG BASE_IMAGE)")
    .option("--no-cache", "rebuild every layer instead of reusing Docker's cache")
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  airlock images build\n" +
        "  airlock images build --no-cache\n" +
        "  airlock images build --base-image debian:bookworm-slim\n" +
        "Docker is reached through DOCKER_HOST (default: /var/run/docker.sock).",
    )
    .action(async (flags: BuildFlags) => {
      if (flags.agent !== undefined) assertKnownAgent(flags.agent);
      const settings = ctx.settings();
      const runtime = createDockerContainerRuntime({
        dockerHost: settings.dockerHost,
        logger: ctx.logger({ command: "images build" }),
      });
      const built = await buildBaseImage(runtime, {
        ...(flags.baseImage ? { baseImage: flags.baseImage } : {}),
        noCache: !flags.cache,
        onProgress: (line) => ctx.stderr.write(`  ${line}\n`),
      });
      const seconds = (built.durationMs / 1000).toFixed(1);
      const megabytes = (built.image.sizeBytes / 1e6).toFixed(0);
      const reuse = built.stepsRun === 0 ? "every step from cache" : `${built.stepsRun} steps run`;
      ctx.stdout.write(
        `built ${built.ref} (${built.image.id}, ${megabytes} MB) in ${seconds} s, ${reuse}\n` +
          `tagged ${built.contentRef}\n`,
      );
    });
}

/** Per-agent images arrive with the agent runtimes; until then only `base` exists. */
function assertKnownAgent(agent: string): void {
  const dir = locateAgentImagesDir();
  const agents = readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && e.name !== "base" && existsSync(join(dir, e.name, "Dockerfile")))
    .map((e) => e.name);
  if (agent === "base") return;
  if (!agents.includes(agent)) {
    throw new UsageError(
      `unknown agent "${agent}": agent-images/ has no ${agent}/Dockerfile` +
        (agents.length > 0 ? ` (agents: ${agents.join(", ")})` : " (only the base image exists so far)"),
    );
  }
  throw new UsageError(`building agent images (--agent ${agent}) is not supported yet; run without --agent`);
}
