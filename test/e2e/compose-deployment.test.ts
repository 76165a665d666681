import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { createHash, generateKeyPairSync } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import postgres from "postgres";
import { parse as parseYaml } from "yaml";
import { getAgent } from "../../core/agents/get-agent.ts";
import { createLogger } from "../../core/logger.ts";
import { createDockerContainerRuntime } from "../../runner/container/docker-container-runtime.ts";
import { buildAgentImage } from "../../runner/images/build-agent-image.ts";
import { prepareAirlockContext } from "../../runner/images/prepare-airlock-context.ts";
import { sandboxLabelKeys } from "../../runner/sandbox/sandbox-labels.ts";
import { startTurnScriptedUpstream } from "../agents/start-turn-scripted-upstream.ts";
import { waitUntil } from "../helpers/wait-until.ts";
import { startGitHubStandIn, type GitHubStandIn } from "../stand-ins/github/start-github-stand-in.ts";
import {
  scriptedUpstreamDefaults,
  startScriptedUpstream,
  type ScriptedUpstream,
} from "../stand-ins/scripted-llm-upstream.ts";

/**
 * Issue 13 §1: the compose deployment as an operator runs it. docker-compose.yml builds the
 * Airlock and Postgres images (on the offline Debian base: no registry), runs the migrations
 * and `airlock up`; the GitHub stand-in and the scripted LLM run here on the host and are
 * reached through deploy/compose.host-network.yml. The runner in the container drives the
 * host's Docker through the mounted socket.
 */

const rootDir = fileURLToPath(new URL("../..", import.meta.url));
const composeMissing = spawnSync("docker-compose", ["version"], { stdio: "ignore" }).status !== 0;
if (composeMissing && process.env.CI) {
  throw new Error("CI is set but docker-compose is missing: scripts/start-services.sh installs it");
}
const skip = composeMissing
  ? "docker-compose is not installed (apt-get install -y docker-compose)"
  : undefined;

const execFileAsync = promisify(execFile);
const owner = "octo-org";
const appId = 4343;
const installationId = 778;
const webhookSecret = "compose-webhook-secret-0123456789";
const project = `airlock-compose-test-${process.pid}`;
const runnerId = `compose-${process.pid}`;
// One tag per checkout: two checkouts testing at once never run each other's code, and a
// checkout's next run finds its layers cached.
const airlockImage = `airlock/airlock:e2e-${createHash("sha256").update(rootDir).digest("hex").slice(0, 12)}`;

async function findFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, "127.0.0.1", ok));
  const address = server.address();
  await new Promise<void>((ok) => server.close(() => ok()));
  if (typeof address !== "object" || !address) throw new Error("no port");
  return address.port;
}

function call(name: string, args: Record<string, unknown>) {
  return { toolCall: { name, arguments: JSON.stringify(args) } };
}

describe(
  "the compose deployment end to end (docker-compose, built images, GitHub stand-in)",
  { skip },
  () => {
    const runtime = createDockerContainerRuntime({ logger: createLogger("silent") });
    let dir: string;
    let gh: GitHubStandIn;
    let upstream: ScriptedUpstream;
    let turns: Awaited<ReturnType<typeof startTurnScriptedUpstream>>;
    let appPort: number;
    let pgPort: number;
    let composeEnv: NodeJS.ProcessEnv;
    let sql: ReturnType<typeof postgres> | undefined;

    /** docker-compose on this test's project; `files` default: the host-network deployment. */
    async function compose(
      args: string[],
      timeoutMs = 15 * 60_000,
      files = ["-f", "docker-compose.yml", "-f", "deploy/compose.host-network.yml"],
    ): Promise<string> {
      try {
        const { stdout, stderr } = await execFileAsync("docker-compose", ["-p", project, ...files, ...args], {
          cwd: rootDir,
          env: composeEnv,
          timeout: timeoutMs,
          maxBuffer: 64 * 1024 * 1024,
        });
        return `${stdout}${stderr}`;
      } catch (error) {
        const e = error as { stdout?: string; stderr?: string };
        throw new Error(
          `docker-compose ${args.join(" ")} failed:\n${(e.stdout ?? "").slice(-4000)}\n${(e.stderr ?? "").slice(-4000)}`,
          { cause: error },
        );
      }
    }

    async function diagnostics(): Promise<string> {
      const logs = await compose(["logs", "--no-color", "--tail", "80"]).catch((e: Error) => e.message);
      return `\n--- stand-in violations ---\n${JSON.stringify(gh.violations, null, 1)}\n--- compose logs ---\n${logs}`;
    }

    async function waitFor<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs: number) {
      try {
        return await waitUntil(what, probe, { timeoutMs, intervalMs: 500 });
      } catch (error) {
        throw new Error(`${(error as Error).message}${await diagnostics()}`, { cause: error });
      }
    }

    async function containerHealth(service: string): Promise<string | undefined> {
      const id = (await compose(["ps", "-q", service])).trim();
      if (!id) return undefined;
      const { stdout } = await execFileAsync("docker", [
        "inspect",
        "-f",
        "{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}",
        id,
      ]);
      return stdout.trim();
    }

    before(async () => {
      const seconds = (from: number) => ((Date.now() - from) / 1000).toFixed(1);
      // The agent image the runner in the container uses; built here (cached) so that the
      // run does not pay for it within its deadline.
      await buildAgentImage(runtime, { agent: getAgent("builtin") });
      let started = Date.now();
      await prepareAirlockContext({ rootDir });
      const prepared = seconds(started);

      const keys = generateKeyPairSync("rsa", { modulusLength: 2048 });
      const privateKey = keys.privateKey.export({ type: "pkcs1", format: "pem" }).toString();
      const publicKeyPem = keys.publicKey.export({ type: "spki", format: "pem" }).toString();
      dir = await mkdtemp(join(tmpdir(), "airlock-compose-"));
      upstream = await startScriptedUpstream();
      turns = await startTurnScriptedUpstream(upstream.url);
      gh = await startGitHubStandIn({ appId, publicKeyPem, webhookSecret, tmpDir: dir });
      gh.createInstallation({ id: installationId, account: owner });
      appPort = await findFreePort();
      pgPort = await findFreePort();
      gh.setWebhookUrl(`http://127.0.0.1:${appPort}/api/github/webhooks`);

      // The operator's .env: one line per setting, the PEM with literal "\n" as env files carry it.
      const dataDir = join(dir, "data");
      await mkdir(dataDir);
      const envFile = join(dir, "airlock.env");
      const settings: Record<string, string> = {
        APP_ID: String(appId),
        PRIVATE_KEY: privateKey.trim().replace(/\n/g, "\\n"),
        WEBHOOK_SECRET: webhookSecret,
        GITHUB_API_URL: gh.apiUrl,
        AIRLOCK_TOKEN_SECRET: "compose-token-secret-0123456789abcdef012345",
        OPENAI_BASE_URL: `${turns.url}/v1`,
        OPENAI_API_KEY: scriptedUpstreamDefaults.openaiApiKey,
        AIRLOCK_RUNNER_ID: runnerId,
        AIRLOCK_LOG_LEVEL: "info",
        PORT: String(appPort),
        HOST: "127.0.0.1",
      };
      await writeFile(
        envFile,
        Object.entries(settings)
          .map(([k, v]) => `${k}=${v}\n`)
          .join(""),
        { mode: 0o600 },
      );
      composeEnv = {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        AIRLOCK_ENV_FILE: envFile,
        AIRLOCK_DATA_DIR: dataDir,
        AIRLOCK_POSTGRES_PORT: String(pgPort),
        // The Debian base scripts/build-offline-base.sh imports (here no registry can be reached).
        AIRLOCK_BASE_IMAGE: "debian:bookworm-slim",
        AIRLOCK_IMAGE: airlockImage,
      };

      started = Date.now();
      // migrate runs the same image as airlock: built once here, and `up` builds nothing.
      await compose(["build", "postgres", "airlock"]);
      const built = seconds(started);
      started = Date.now();
      await compose(["up", "-d", "--no-build"]);
      await waitFor(
        "the airlock service to be healthy",
        async () => (await containerHealth("airlock")) === "healthy",
        180_000,
      );
      const up = seconds(started);
      const { stdout: size } = await execFileAsync("docker", [
        "image",
        "inspect",
        "-f",
        "{{.Size}}",
        airlockImage,
      ]);
      console.log(
        `# compose: context prepared ${prepared} s, images built ${built} s, up to healthy ${up} s, airlock image ${(Number(size) / 1e6).toFixed(0)} MB`,
      );
      sql = postgres(`postgres://airlock:airlock@127.0.0.1:${pgPort}/airlock`, {
        max: 1,
        onnotice: () => {},
      });
    });

    after(async () => {
      await sql?.end();
      if (composeEnv) await compose(["down", "-v", "--remove-orphans", "-t", "5"]).catch(() => {});
      for (const c of await runtime.listContainers({ [sandboxLabelKeys.runnerId]: runnerId })) {
        await runtime.removeContainer(c.id);
      }
      await turns?.close();
      try {
        await upstream?.close();
      } finally {
        await gh?.close();
        if (dir) await rm(dir, { recursive: true, force: true });
      }
    });

    it("every service of the deployment is healthy or done, and /healthz answers for the database and Docker", async () => {
      assert.equal(await containerHealth("postgres"), "healthy");
      const migrateId = (await compose(["ps", "-q", "migrate"])).trim();
      const { stdout: migrated } = await execFileAsync("docker", [
        "inspect",
        "-f",
        "{{.State.ExitCode}}",
        migrateId,
      ]);
      assert.equal(migrated.trim(), "0", "the migrations ran to the end");
      const res = await fetch(`http://127.0.0.1:${appPort}/healthz`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: "ok", database: "ok", docker: "ok" });
    });

    it("as a user runs it (the default files), the monitoring profile adds Prometheus and Grafana with the dashboard, and every long-running service has a healthcheck", async () => {
      // Checked, not run: their images would be pulled, and no registry is reachable here.
      const config = parseYaml(await compose(["--profile", "monitoring", "config"], 60_000, [])) as {
        services: Record<
          string,
          {
            healthcheck?: { test?: string[] };
            ports?: unknown[];
            volumes?: string[];
            profiles?: string[];
          }
        >;
      };
      // docker-compose 1.29 lists every service, each with its profiles.
      const names = Object.keys(config.services).sort();
      assert.deepEqual(names, ["airlock", "grafana", "migrate", "postgres", "prometheus", "proxy"]);
      assert.deepEqual(config.services.prometheus!.profiles, ["monitoring"]);
      assert.deepEqual(config.services.grafana!.profiles, ["monitoring"]);
      assert.equal(config.services.airlock!.profiles, undefined, "airlock runs without a profile");
      for (const name of names.filter((n) => n !== "migrate")) {
        assert.ok(config.services[name]!.healthcheck?.test?.length, `${name} has a healthcheck`);
      }
      assert.ok(
        config.services.airlock!.ports?.length,
        "docker-compose.override.yml publishes airlock's port",
      );
      assert.ok(
        config.services.grafana!.volumes?.some((v) => v.includes("deploy/grafana/airlock.json:")),
        "Grafana is provisioned with deploy/grafana/airlock.json",
      );
    });

    it("a labelled issue becomes a draft pull request, worked by the runner in the container", async (t) => {
      await gh.createRepo({
        owner,
        name: "compose-flow",
        installationId,
        files: { "README.md": "# demo\n", "src/greet.js": 'export const greeting = "hello";\n' },
      });
      const repo = `${owner}/compose-flow`;
      gh.setPermission(repo, "maintainer", "write");
      upstream.define(
        "compose.0",
        call("edit_file", { path: "src/greet.js", old: "hello", new: "hello, compose" }),
      );
      upstream.define("compose.1", call("finish", { summary: "Greeted from compose." }));
      const issue = gh.createIssue(repo, {
        title: "Greet from compose",
        body: "Say hello, compose. [[script:compose]]",
        user: "maintainer",
      });
      const started = Date.now();
      const delivery = await gh.deliver(
        "issues",
        gh.payloads.issuesLabeled({
          repo,
          issue: issue.number,
          label: "airlock:builtin",
          sender: "maintainer",
        }),
      );
      assert.equal(delivery.status, 200, delivery.body);

      // Recorded in the compose deployment's own Postgres by the runner in the container, and
      // published: the pull request is open and the issue told.
      const run = await waitFor(
        "the run to be published",
        async () => {
          const rows = await sql!<{ id: string; state: string; published_at: Date | null }[]>`
          select id, state, published_at from runs where repo = ${repo}`;
          return rows[0]?.published_at ? rows : undefined;
        },
        240_000,
      );
      t.diagnostic(`labelled issue → run published ${((Date.now() - started) / 1000).toFixed(1)} s`);
      assert.equal(run.length, 1);
      assert.equal(run[0]!.state, "succeeded");

      const pulls = gh.state.pulls.filter((p) => p.repo === repo);
      assert.equal(pulls.length, 1);
      const pr = pulls[0]!;
      assert.equal(pr.draft, true);
      assert.equal(pr.head, `airlock/${issue.number}-${run[0]!.id}`);
      assert.match(pr.body, new RegExp(`^Fixes #${issue.number}\\n`));
      const branch = await gh.readBranch(repo, pr.head);
      assert.equal(branch?.files["src/greet.js"], 'export const greeting = "hello, compose";\n');
    });
  },
);
