import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { requestCapability } from "../../agent-images/builtin/agent/request-capability.ts";
import { listCapabilityRequests } from "../../core/db/capability-requests.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { denyCapabilityRequest } from "./deny-capability-request.ts";
import { startProxyHarness, type ProxyHarness } from "../helpers/start-proxy-harness.ts";

const airlockRequest = fileURLToPath(
  new URL("../../agent-images/base/rootfs/usr/local/bin/airlock-request", import.meta.url),
);

/**
 * The agents' two clients — `airlock-request` from the base image and the builtin agent's
 * request_capability tool — against the real endpoint: the proxy on TCP stands where the
 * bridge forwards (127.0.0.1:<AIRLOCK_BRIDGE_PORT>), with a real run token.
 */
for (const kind of testDatabaseKinds()) {
  describe(`capability clients against the proxy on ${kind.name}`, { skip: kind.skip }, () => {
    let h: ProxyHarness;
    before(async () => {
      h = await startProxyHarness(kind);
    });
    after(async () => {
      await h?.close();
    });

    function runAirlockRequest(
      token: string,
      args: string[],
    ): Promise<{ code: number; stdout: string; stderr: string }> {
      const port = new URL(h.url).port;
      return new Promise((resolve) => {
        execFile(
          process.execPath,
          [airlockRequest, ...args],
          {
            env: { PATH: process.env.PATH ?? "", OPENAI_API_KEY: token, AIRLOCK_BRIDGE_PORT: port },
            timeout: 30_000,
          },
          (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
        );
      });
    }

    it("airlock-request asks with {kind, name, version?, reason}, lists, and exits by the answer", async () => {
      const { runId, token } = await h.newRun();
      const npm = await runAirlockRequest(token, ["npm:@scope/pkg@1.2.3", "the", "tests", "import", "it"]);
      assert.equal(npm.code, 0, npm.stderr);
      assert.equal(JSON.parse(npm.stdout).state, "pending");
      assert.match(npm.stderr, /npm:@scope\/pkg@1\.2\.3 is requested .*Finish your turn/);
      const pip = await runAirlockRequest(token, ["pip:Requests==2.32.3", "tests use it"]);
      assert.equal(pip.code, 0, pip.stderr);
      const tool = await runAirlockRequest(token, ["llm-tool:web_search", "read the changelog"]);
      assert.equal(tool.code, 0, tool.stderr);
      const ip = await runAirlockRequest(token, ["network:10.0.0.1", "internal api"]);
      assert.equal(ip.code, 1);
      assert.match(ip.stderr, /capability request refused: name: an IP address/);
      assert.equal(JSON.parse(ip.stdout).error.param, "name");

      const rows = await listCapabilityRequests(h.database.db, runId);
      assert.deepEqual(
        rows.map((r) => [r.kind, r.name, r.version, r.reason]),
        [
          ["npm", "@scope/pkg", "1.2.3", "the tests import it"],
          ["pip", "requests", "2.32.3", "tests use it"],
          ["llm-tool", "web_search", null, "read the changelog"],
        ],
      );
      const listed = await runAirlockRequest(token, ["--list"]);
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual(
        (JSON.parse(listed.stdout) as { requests: { name: string; state: string }[] }).requests.map((r) => [
          r.name,
          r.state,
        ]),
        [
          ["@scope/pkg", "pending"],
          ["requests", "pending"],
          ["web_search", "pending"],
        ],
      );
      await denyCapabilityRequest(h, runId, rows[2]!.id, "octocat", "not for this task");
      const denied = await runAirlockRequest(token, ["llm-tool:web_search", "again"]);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /denied by octocat: not for this task/);
      assert.equal(h.upstream.requests.length, 0);
    });

    it("the builtin agent's tool relays the host's answer to the model", async () => {
      const { runId, token } = await h.newRun();
      const pending = await requestCapability(h.url, token, {
        kind: "apt",
        name: "jq",
        reason: "parse JSON",
      });
      assert.match(
        pending,
        /^capability request for apt:jq \(pending, id \d+\): apt:jq is requested .*Finish your turn/,
      );
      const refused = await requestCapability(h.url, token, {
        kind: "apt",
        name: "jq",
        version: "1.6",
        reason: "r",
      });
      assert.match(
        refused,
        /refused by the host \(400\): capability request refused: version: apt packages take no version/,
      );
      const tool = await requestCapability(h.url, token, {
        kind: "llm-tool",
        name: "web_fetch",
        reason: "read docs",
      });
      assert.match(tool, /llm-tool:web_fetch \(pending, id \d+\)/);
      assert.deepEqual(
        (await listCapabilityRequests(h.database.db, runId)).map((r) => `${r.kind}:${r.name}`),
        ["apt:jq", "llm-tool:web_fetch"],
      );
    });
  });
}
