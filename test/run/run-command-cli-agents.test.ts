import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { startTurnScriptedUpstream } from "../agents/start-turn-scripted-upstream.ts";
import { createSourceRepo, git } from "../helpers/git-repo.ts";
import {
  scriptedUpstreamDefaults,
  startScriptedUpstream,
  type ScriptedUpstream,
} from "../stand-ins/scripted-llm-upstream.ts";

const run = promisify(execFile);
const bin = resolve(import.meta.dirname, "../../bin/airlock.js");
const secret = "test-token-secret-run-cli-agents-0123456789abcdef";

async function airlock(args: string[], env: NodeJS.ProcessEnv, cwd: string) {
  try {
    const { stdout, stderr } = await run(process.execPath, [bin, ...args], { env, cwd, timeout: 240_000 });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === "number" ? e.code : -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

// Issue 12: `airlock run --agent <id>` for the agent CLIs, as an operator types it, the
// upstreams set the way the README says (the real keys only on the host).
describe("airlock run --agent claude-code | codex | openclaw, as a child process", () => {
  let dir: string;
  let upstream: ScriptedUpstream;
  let turns: Awaited<ReturnType<typeof startTurnScriptedUpstream>>;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "airlock-run-cli-agents-"));
    upstream = await startScriptedUpstream();
    turns = await startTurnScriptedUpstream(upstream.url);
  });

  after(async () => {
    await turns?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    await upstream?.close();
  });

  function env(): NodeJS.ProcessEnv {
    return {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
      AIRLOCK_TOKEN_SECRET: secret,
      AIRLOCK_DATA_DIR: join(dir, "data"),
      ANTHROPIC_BASE_URL: turns.url,
      ANTHROPIC_API_KEY: scriptedUpstreamDefaults.anthropicApiKey,
      OPENAI_BASE_URL: `${turns.url}/v1`,
      OPENAI_API_KEY: scriptedUpstreamDefaults.openaiApiKey,
    };
  }

  for (const [agent, script] of [
    [
      "claude-code",
      {
        first: {
          toolCall: {
            name: "Write",
            arguments: JSON.stringify({
              file_path: "/workspace/CONTRIBUTING.md",
              content: "# Contributing\n",
            }),
          },
        },
        model: "claude-sonnet-4-5",
      },
    ],
    [
      "codex",
      {
        first: {
          customToolCall: {
            name: "apply_patch",
            input: "*** Begin Patch\n*** Add File: CONTRIBUTING.md\n+# Contributing\n*** End Patch\n",
          },
        },
        model: "gpt-5",
      },
    ],
    [
      "openclaw",
      {
        first: {
          toolCall: {
            name: "write",
            arguments: JSON.stringify({ path: "CONTRIBUTING.md", content: "# Contributing\n" }),
          },
        },
        model: "claude-sonnet-4-5",
      },
    ],
  ] as const) {
    it(`${agent}: commits the CLI's change to airlock/<run> and prints the summary`, async () => {
      const repo = await createSourceRepo(join(dir, agent), { "README.md": "# project\n" });
      const name = agent.replace("-", "");
      upstream.define(`${name}.0`, script.first);
      upstream.define(`${name}.1`, { text: "Added CONTRIBUTING.md." });
      const r = await airlock(
        ["run", "--repo", repo, "--agent", agent, "--prompt", `Add a CONTRIBUTING.md [[script:${name}]]`],
        env(),
        dir,
      );
      assert.equal(r.code, 0, r.stderr + r.stdout);
      const runId = /^## Airlock run `(r[a-z0-9]+)`: succeeded$/m.exec(r.stdout)?.[1];
      assert.ok(runId, r.stdout);
      assert.match(
        r.stdout,
        new RegExp(`^\\| Agent \\| \`${agent}\`, image \`airlock/${agent}:[0-9a-f]{64}\``, "m"),
      );
      assert.match(r.stdout, new RegExp(`^\\| Models \\| \`${script.model}\` \\(2\\) \\|$`, "m"));
      assert.match(r.stdout, /^> Added CONTRIBUTING\.md\.$/m);
      assert.equal(git(repo, ["show", `airlock/${runId}:CONTRIBUTING.md`]), "# Contributing\n");
    });
  }
});
