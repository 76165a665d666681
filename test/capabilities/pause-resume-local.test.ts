import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { asc, eq } from "drizzle-orm";
import { verifyAuditChain } from "../../core/audit/verify-audit-chain.ts";
import { parseCapabilitiesFile } from "../../core/capabilities/parse-capabilities-file.ts";
import { listCapabilityRequests } from "../../core/db/capability-requests.ts";
import { auditEvents } from "../../core/db/schema.ts";
import type { RunState } from "../../core/run-states.ts";
import { recordAndRunLocalRun } from "../../runner/run/record-and-run-local-run.ts";
import { createSourceRepo, git } from "../helpers/git-repo.ts";
import {
  scriptedCall,
  startScriptedLocalRuns,
  type ScriptedLocalRuns,
} from "../helpers/start-scripted-local-runs.ts";
import { scriptedUpstreamDefaults } from "../stand-ins/scripted-llm-upstream.ts";

const bin = resolve(import.meta.dirname, "../../bin/airlock.js");

const tokenSecret = "test-token-secret-pause-resume-0123456789abcdef";
const call = scriptedCall;

/**
 * Issue 10 §2, §6, §8 without GitHub: the builtin agent asks for apt:jq and finishes its
 * turn; the run parks (awaiting_approval), the decision is taken in place (as `airlock run`
 * takes it on the terminal), and a new container on an image rebuilt with the grant
 * continues the same conversation. Real Docker, Postgres, proxy, relay and agent image;
 * the model is the scripted stand-in, one script per turn (turns 0–1 before the pause,
 * 2–3 after it, since the resumed conversation carries the first two assistant turns).
 */
describe("a run that pauses for a capability request and resumes (builtin agent, local)", () => {
  let h: ScriptedLocalRuns;
  let upstream: ScriptedLocalRuns["upstream"];
  let database: ScriptedLocalRuns["database"];
  let dir: string;

  before(async () => {
    h = await startScriptedLocalRuns("pause-resume", tokenSecret);
    ({ upstream, database, dir } = h);
  });

  after(async () => {
    await h?.close();
  });

  const deps = () => h.deps();
  const messagesOf = (script: string) => h.messagesOf(script);

  function defineScripts(script: string, afterResume: ReturnType<typeof call>[]): void {
    upstream.define(
      `${script}.0`,
      call("request_capability", { kind: "apt", name: "jq", reason: "to pretty-print data.json" }),
    );
    upstream.define(`${script}.1`, call("finish", { summary: "Waiting for jq." }));
    afterResume.forEach((step, i) => upstream.define(`${script}.${i + 2}`, step));
  }

  it("granted: the agent continues its conversation on a rebuilt image that has jq", async () => {
    defineScripts("grant", [
      call("run_command", { argv: ["jq", "--version"] }),
      call("finish", { summary: "Used jq." }),
    ]);
    const repo = await createSourceRepo(join(dir, "grant"), { "README.md": "# grant\n" });
    const states: RunState[] = [];
    const asked: string[] = [];
    const result = await recordAndRunLocalRun(deps(), {
      repo,
      agent: "builtin",
      prompt: "Pretty-print data.json. [[script:grant]]",
      onProgress: (event) => states.push(event.state),
      decideRequests: async (pending) => {
        asked.push(...pending.map((r) => `${r.kind}:${r.name} (${r.reason})`));
        return pending.map((r) => ({ id: r.id, state: "granted" as const, by: "tester" }));
      },
    });
    assert.equal(result.outcome, "succeeded", result.summaryMarkdown);
    assert.deepEqual(asked, ["apt:jq (to pretty-print data.json)"]);
    // The same states as a GitHub run: parked, queued again, running again.
    const afterPause = states.slice(states.indexOf("awaiting_approval"));
    assert.deepEqual(afterPause.slice(0, 3), ["awaiting_approval", "queued", "running"], states.join(" "));

    // The resumed call carries the first container's conversation and the decision note.
    const resumed = messagesOf("grant.2");
    assert.ok(
      resumed.some(
        (m) => m.role === "assistant" && m.tool_calls?.[0]?.function.name === "request_capability",
      ),
      "the resumed conversation lost the turn that asked",
    );
    const note = String(resumed.findLast((m) => m.role === "user")?.content);
    assert.match(note, /apt:jq: GRANTED by tester \(installed in this container's image\)/);
    const tool = messagesOf("grant.3").findLast((m) => m.role === "tool");
    assert.match(String(tool?.content), /jq-1\.6/);

    const entries = await database.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.runId, result.runId))
      .orderBy(asc(auditEvents.seq));
    const types = entries.map((e) => e.type);
    assert.ok(types.indexOf("run.paused") < types.indexOf("capability.decided"), types.join(" "));
    assert.ok(types.indexOf("capability.decided") < types.indexOf("run.resumed"), types.join(" "));
    const images = entries
      .filter((e) => e.type === "image.ready")
      .map((e) => e.data as { grants?: unknown; grantedBy?: string });
    assert.equal(images.length, 2);
    assert.equal(images[0]?.grants, undefined);
    assert.deepEqual(images[1]?.grants, [{ kind: "apt", name: "jq" }]);
    assert.equal(images[1]?.grantedBy, "tester");
    const verification = await verifyAuditChain(database.db, result.runId, tokenSecret);
    assert.equal(verification.ok, true, JSON.stringify(verification));

    // The branch carries the request with its decision, as a maintainer would read it.
    assert.ok(result.branch, "nothing was pushed");
    const file = parseCapabilitiesFile(
      git(repo, ["show", `${result.branch}:.github/airlock/capabilities.yml`]),
    );
    assert.deepEqual(
      file.map((e) => [e.kind, e.name, e.state, e.decided_by, e.run]),
      [["apt", "jq", "granted", "tester", result.runId]],
    );
  });

  it("denied: the agent hears why and finishes without the package", async () => {
    defineScripts("deny", [call("finish", { summary: "Did without jq." })]);
    const repo = await createSourceRepo(join(dir, "deny"), { "README.md": "# deny\n" });
    const result = await recordAndRunLocalRun(deps(), {
      repo,
      agent: "builtin",
      prompt: "Pretty-print data.json. [[script:deny]]",
      decideRequests: async (pending) =>
        pending.map((r) => ({
          id: r.id,
          state: "denied" as const,
          by: "tester",
          reason: "use python3 -m json.tool",
        })),
    });
    assert.equal(result.outcome, "succeeded", result.summaryMarkdown);
    const note = String(messagesOf("deny.2").findLast((m) => m.role === "user")?.content);
    assert.match(note, /apt:jq: DENIED by tester: use python3 -m json\.tool\. Do without it\./);
    const [request] = await listCapabilityRequests(database.db, result.runId);
    assert.equal(request?.state, "denied");
    assert.equal(request?.decisionReason, "use python3 -m json.tool");
    const images = (
      await database.db.select().from(auditEvents).where(eq(auditEvents.runId, result.runId))
    ).filter((e) => e.type === "image.ready");
    assert.equal(images.length, 2);
    assert.ok(images.every((e) => (e.data as { grants?: unknown }).grants === undefined));
  });

  it("a rebuild that fails: the request is marked failed with the log's tail, and the run resumes without it", async () => {
    upstream.define(
      "fail.0",
      call("request_capability", {
        kind: "apt",
        name: "airlock-no-such-package",
        reason: "to test a failure",
      }),
    );
    upstream.define("fail.1", call("finish", { summary: "Waiting." }));
    upstream.define("fail.2", call("finish", { summary: "Did without it." }));
    const repo = await createSourceRepo(join(dir, "fail"), { "README.md": "# fail\n" });
    const failures: { name: string; tail: string }[] = [];
    const result = await recordAndRunLocalRun(deps(), {
      repo,
      agent: "builtin",
      prompt: "Try a package that does not exist. [[script:fail]]",
      decideRequests: async (pending) =>
        pending.map((r) => ({ id: r.id, state: "granted" as const, by: "tester" })),
      onCapabilityFailed: async (request, tail) => {
        failures.push({ name: request.name, tail });
      },
    });
    assert.equal(result.outcome, "succeeded", result.summaryMarkdown);
    assert.equal(failures.length, 1);
    assert.equal(failures[0]?.name, "airlock-no-such-package");
    assert.match(failures[0]?.tail ?? "", /Unable to locate package airlock-no-such-package/);
    const [request] = await listCapabilityRequests(database.db, result.runId);
    assert.equal(request?.state, "failed");
    assert.equal(request?.decidedBy, "rebuild");
    assert.match(request?.decisionReason ?? "", /^the image rebuild failed: /);
    const note = String(messagesOf("fail.2").findLast((m) => m.role === "user")?.content);
    assert.match(
      note,
      /apt:airlock-no-such-package: granted, but installing it FAILED: the image rebuild failed/,
    );
    assert.match(result.summaryMarkdown, /- `apt:airlock-no-such-package`: \*\*failed\*\* by `rebuild`/);
  });

  it("airlock run --deny-requests (a child process, no terminal): the request is denied saying so, the agent is told, the summary shows it", async () => {
    defineScripts("clideny", [call("finish", { summary: "Did without jq." })]);
    const repo = await createSourceRepo(join(dir, "clideny"), { "README.md": "# cli\n" });
    const env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      ...(process.env.DOCKER_HOST ? { DOCKER_HOST: process.env.DOCKER_HOST } : {}),
      AIRLOCK_TOKEN_SECRET: tokenSecret,
      OPENAI_API_KEY: scriptedUpstreamDefaults.openaiApiKey,
      OPENAI_BASE_URL: `${h.modelUrl}/v1`,
    };
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        bin,
        "run",
        "--repo",
        repo,
        "--agent",
        "builtin",
        "--prompt",
        "Read JSON. [[script:clideny]]",
        "--deny-requests",
      ],
      { env, cwd: dir, timeout: 240_000 },
    );
    assert.match(stdout, /^## Airlock run `r[a-z0-9]+`: succeeded$/m);
    assert.match(
      stdout,
      /^- `apt:jq`: \*\*denied\*\* by `operator \(--deny-requests\)` at [^:]+:\d\d:\d\dZ: airlock run was started with --deny-requests/m,
    );
    assert.match(
      String(messagesOf("clideny.2").findLast((m) => m.role === "user")?.content),
      /apt:jq: DENIED by operator \(--deny-requests\): airlock run was started with --deny-requests/,
    );
  });
});
