import type { Command } from "commander";
import { agentCatalog } from "../../core/agents/agent-catalog.ts";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import { getAgent } from "../../core/agents/get-agent.ts";
import { UsageError } from "../../core/errors.ts";
import type { CliContext } from "../cli-context.ts";
import { collectFlagValues, parseGrantFlags } from "../parse-grant-flags.ts";

interface BuildFlags {
  agent?: string;
  baseImage?: string;
  cache: boolean;
  grant?: string[];
}

export function registerImagesCommand(program: Command, ctx: CliContext): void {
  const images = program.command("images").description("build the sandbox images from agent-images/");
  images
    .command("build")
    .description(
      "build airlock/base:<VERSION> from agent-images/base and the agents' images on top of it.\n" +
        "Without --agent: the base image, then every agent of the catalog (airlock agents).\n" +
        "With --agent <id>: that agent's image, airlock/<id>:<content tag> and :latest, building the\n" +
        "base first only when it is missing; --agent base builds the base image alone.\n" +
        "Node and the agents' npm packages are fetched on this host with npm into each folder's\n" +
        ".context/ (once, then cached); the agent builds themselves need no network.\n" +
        "A rebuild with nothing changed takes every layer from Docker's cache.\n" +
        "Without a registry, first create the base image with scripts/build-offline-base.sh.",
    )
    .option("--agent <id>", "build only this agent's image (see airlock agents), or base")
    .option(
      "--base-image <ref>",
      "the image the base is built FROM (default: its Dockerfile's ARG BASE_IMAGE)",
    )
    .option("--no-cache", "rebuild every layer instead of reusing Docker's cache")
    .option(
      "--grant <kind:name[@version]>",
      "with --agent: build that agent's image with this package added (repeatable): apt:<debian package>[@<version>], " +
        "npm:<package>[@<exact version>] or pip:<package>[==<version>] (pip needs AIRLOCK_PIP_INDEX_URL). " +
        "Tagged airlock/<agent>:<sha256 of base id, agent inputs and sorted grants>, built on the cached agent image",
      collectFlagValues,
    )
    .addHelpText(
      "after",
      "\nExamples:\n" +
        "  airlock images build\n" +
        "  airlock images build --agent builtin\n" +
        "  airlock images build --no-cache\n" +
        "  airlock images build --base-image debian:bookworm-slim\n" +
        "  airlock images build --agent builtin --grant apt:jq --grant npm:left-pad@1.3.0\n" +
        "Docker is reached through DOCKER_HOST (default: /var/run/docker.sock).",
    )
    .action(async (flags: BuildFlags) => {
      // Checked before Docker is touched: a typo fails fast with the list of agents.
      const agents: AgentDefinition[] =
        flags.agent === undefined ? [...agentCatalog] : flags.agent === "base" ? [] : [getAgent(flags.agent)];
      const buildBase = flags.agent === undefined || flags.agent === "base";
      const grants = parseGrantFlags(flags.grant);
      if (grants.length > 0 && (flags.agent === undefined || flags.agent === "base")) {
        throw new UsageError("--grant needs --agent <id>: grants are built on top of one agent's image");
      }
      const settings = ctx.settings();
      // Loaded on use, so that other commands do not pay for the Docker client.
      const [{ createDockerContainerRuntime }, { buildBaseImage }, { buildAgentImage }] = await Promise.all([
        import("../../runner/container/docker-container-runtime.ts"),
        import("../../runner/images/build-base-image.ts"),
        import("../../runner/images/build-agent-image.ts"),
      ]);
      const runtime = createDockerContainerRuntime({
        dockerHost: settings.dockerHost,
        logger: ctx.logger({ command: "images build" }),
      });
      const onProgress = (line: string) => ctx.stderr.write(`  ${line}\n`);
      const reuse = (steps: number) => (steps === 0 ? "every step from cache" : `${steps} steps run`);

      if (grants.length > 0) {
        const { buildGrantedImage } = await import("../../runner/images/build-granted-image.ts");
        const { formatImageGrant } = await import("../../runner/images/image-grant.ts");
        const built = await buildGrantedImage(runtime, {
          agent: agents[0]!,
          grants,
          logger: ctx.logger({ command: "images build" }),
          pipIndexUrl: ctx.env.AIRLOCK_PIP_INDEX_URL,
          noCache: !flags.cache,
          onProgress,
        });
        const { dpkg, npm, pip } = built.sbomDelta;
        ctx.stdout.write(
          `built ${built.ref} (${built.image.id}, ${megabytes(built.image.sizeBytes)} MB) in ${seconds(built.durationMs)} s, ` +
            `${reuse(built.stepsRun)}\n` +
            `on ${built.agentImage.ref} (${built.agentImage.id})\n` +
            `grants: ${built.grants.map(formatImageGrant).join(" ")}\n` +
            `added packages (SBOM delta):\n` +
            [
              ...dpkg.map((p) => `  dpkg ${p.name} ${p.version}`),
              ...npm.map(
                (p) =>
                  `  npm ${p.name} ${p.version}${p.license ? ` (${p.license})` : ""}` +
                  (p.hasInstallScript ? " [install script not run]" : ""),
              ),
              ...pip.map((p) => `  pip ${p.name} ${p.version}`),
            ].join("\n") +
            "\n",
        );
        return;
      }

      if (buildBase) {
        const built = await buildBaseImage(runtime, {
          ...(flags.baseImage ? { baseImage: flags.baseImage } : {}),
          noCache: !flags.cache,
          onProgress,
        });
        ctx.stdout.write(
          `built ${built.ref} (${built.image.id}, ${megabytes(built.image.sizeBytes)} MB) in ${seconds(built.durationMs)} s, ` +
            `${reuse(built.stepsRun)}\ntagged ${built.contentRef}\n`,
        );
      }
      for (const agent of agents) {
        const built = await buildAgentImage(runtime, { agent, noCache: !flags.cache, onProgress });
        if (built.builtBase) ctx.stdout.write(`built the missing base image ${built.baseImage.id}\n`);
        ctx.stdout.write(
          `built ${built.ref} (${built.image.id}, ${megabytes(built.image.sizeBytes)} MB) in ${seconds(built.durationMs)} s, ` +
            `${reuse(built.stepsRun)}\ntagged ${built.latestRef}\n`,
        );
      }
    });
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(0);
}
