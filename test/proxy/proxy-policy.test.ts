import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import {
  claudeCodeBody,
  claudeCodeHeaders,
  claudeCodeQuery,
} from "../fixtures/agent-requests/claude-code-request.ts";
import { codexBody, codexHeaders } from "../fixtures/agent-requests/codex-request.ts";
import { decideCapabilityRequest, recordCapabilityRequest } from "../../core/db/capability-requests.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { startProxyHarness, type ProxyHarness } from "../helpers/start-proxy-harness.ts";

/**
 * Issue 9 §1-2 through the official SDKs: every refused request gets a 403 in its
 * provider's shape that names the field and how to ask, and never reaches the upstream
 * (its record of requests does not grow); Claude Code's and Codex's requests pass
 * unchanged, byte for byte apart from an injected output cap.
 */
for (const kind of testDatabaseKinds()) {
  describe(`proxy request policy on ${kind.name}`, { skip: kind.skip }, () => {
    let h: ProxyHarness;
    before(async () => {
      h = await startProxyHarness(kind, (upstream) => ({
        allowedModels: ["gpt-4o-mini"],
        upstreams: {
          openai: {
            baseUrl: `${upstream.url}/v1`,
            apiKey: "sk-test-openai-upstream-key",
            organization: "org-operator-choice",
          },
          anthropic: { baseUrl: upstream.url, apiKey: "sk-ant-test-upstream-key" },
        },
      }));
    });
    after(async () => {
      assert.deepEqual(
        h.upstream.unexpected.map((r) => r.problem),
        [],
      );
      await h.close();
    });

    /** A run as the runner records one: an agent, its model, the repository's config. */
    async function agentRun(options: { budgetUsd?: string; model?: string } = {}) {
      return h.newRun({
        budgetUsd: options.budgetUsd,
        fields: {
          kind: "github",
          agent: "builtin",
          model: options.model ?? "claude-haiku-4-5",
          repoConfig: { model: "gpt-4.1" },
        },
      });
    }

    /** Runs `send`, expects the SDK's PermissionDeniedError, and that nothing reached the upstream. */
    async function expectRefused(send: () => Promise<unknown>, message: RegExp): Promise<string> {
      const before = h.upstream.requests.length;
      const error = await send().then(
        () => assert.fail("a refused request was served"),
        (e: unknown) => e,
      );
      assert.ok(
        error instanceof OpenAI.PermissionDeniedError || error instanceof Anthropic.PermissionDeniedError,
        `refused with ${String(error)}`,
      );
      assert.equal(error.status, 403);
      assert.match(error.message, message);
      assert.equal(h.upstream.requests.length, before, "nothing was forwarded");
      return error.message;
    }

    it("refuses hosted tools, background, stored files, remote inputs and dear tiers, in each provider's shape", async () => {
      const { runId, token } = await agentRun();
      const openai = h.openai(token);
      const anthropic = h.anthropic(token);
      const input = "hello";
      const cases: Array<[string, () => Promise<unknown>, RegExp]> = [
        [
          "responses mcp",
          () =>
            openai.responses.create({
              model: "gpt-4.1",
              input,
              tools: [
                {
                  type: "mcp",
                  server_label: "x",
                  server_url: "https://attacker.example/mcp",
                  require_approval: "never",
                },
              ],
            }),
          /tools\[0\]\.type \(mcp\).*llm-tool:mcp/,
        ],
        [
          "responses web_search",
          () => openai.responses.create({ model: "gpt-4.1", input, tools: [{ type: "web_search" }] }),
          /tools\[0\]\.type \(web_search\).*llm-tool:web_search/,
        ],
        [
          "responses code_interpreter",
          () =>
            openai.responses.create({
              model: "gpt-4.1",
              input,
              tools: [{ type: "code_interpreter", container: { type: "auto" } }],
            }),
          /llm-tool:code_interpreter/,
        ],
        [
          "responses image_generation",
          () => openai.responses.create({ model: "gpt-4.1", input, tools: [{ type: "image_generation" }] }),
          /llm-tool:image_generation/,
        ],
        [
          "responses background",
          () => openai.responses.create({ model: "gpt-4.1", input, background: true }),
          /background \(true\).*usage: null.*llm-tool:background/,
        ],
        [
          "responses stored file",
          () =>
            openai.responses.create({
              model: "gpt-4.1",
              input: [{ role: "user", content: [{ type: "input_file", file_id: "file-of-another-run" }] }],
            }),
          /input\[0\]\.content\[0\]\.file_id \(file id\).*llm-tool:files/,
        ],
        [
          "chat web_search_options",
          () =>
            openai.chat.completions.create({
              model: "gpt-4.1",
              messages: [{ role: "user", content: input }],
              web_search_options: {},
            }),
          /web_search_options.*llm-tool:web_search/,
        ],
        [
          "chat priority tier",
          () =>
            openai.chat.completions.create({
              model: "gpt-4.1",
              messages: [{ role: "user", content: input }],
              service_tier: "priority",
            }),
          /service_tier \("priority"\).*llm-tool:service_tier/,
        ],
        [
          "messages mcp_servers with the mcp-client beta",
          () =>
            anthropic.beta.messages.create({
              model: "claude-haiku-4-5",
              max_tokens: 100,
              messages: [{ role: "user", content: input }],
              mcp_servers: [{ type: "url", url: "https://attacker.example/mcp", name: "x" }],
              betas: ["mcp-client-2025-04-04"],
            }),
          /mcp_servers.*llm-tool:mcp/,
        ],
        [
          "messages web_search",
          () =>
            anthropic.messages.create({
              model: "claude-haiku-4-5",
              max_tokens: 100,
              messages: [{ role: "user", content: input }],
              tools: [{ type: "web_search_20250305", name: "web_search" }],
            }),
          /tools\[0\]\.type \(web_search_20250305\).*llm-tool:web_search/,
        ],
        [
          "messages web_fetch",
          () =>
            anthropic.beta.messages.create({
              model: "claude-haiku-4-5",
              max_tokens: 100,
              messages: [{ role: "user", content: input }],
              tools: [{ type: "web_fetch_20250910", name: "web_fetch" }],
            }),
          /llm-tool:web_fetch/,
        ],
        [
          "messages code_execution",
          () =>
            anthropic.beta.messages.create({
              model: "claude-haiku-4-5",
              max_tokens: 100,
              messages: [{ role: "user", content: input }],
              tools: [{ type: "code_execution_20250825", name: "code_execution" }],
            }),
          /llm-tool:code_execution/,
        ],
        [
          "messages URL image",
          () =>
            anthropic.messages.create({
              model: "claude-haiku-4-5",
              max_tokens: 100,
              messages: [
                {
                  role: "user",
                  content: [
                    { type: "image", source: { type: "url", url: "https://attacker.example/?repo=x" } },
                  ],
                },
              ],
            }),
          /source\.url \(https URL\).*llm-tool:url_inputs/,
        ],
      ];
      for (const [name, send, message] of cases) {
        const text = await expectRefused(send, message);
        assert.match(text, /airlock-request/, name);
        assert.match(text, /Nothing was sent to the provider/, name);
        assert.doesNotMatch(text, /attacker/, `${name}: the refusal does not echo the URL`);
      }
      const rows = await h.rows(runId);
      assert.equal(rows.length, cases.length, "each refusal is recorded");
      assert.ok(rows.every((r) => r.status === 403 && r.refusal === "policy"));
    });

    it("opens a hosted tool to a run granted llm-tool:<type> (issue 10), and only that one", async () => {
      const { runId, token } = await agentRun();
      const asked = await recordCapabilityRequest(h.database.db, {
        runId,
        request: { kind: "llm-tool", name: "web_search", reason: "look up the API's docs" },
        secret: h.tokenSecret,
      });
      assert.equal(asked.kind, "created");
      if (asked.kind !== "created") return;
      await decideCapabilityRequest(h.database.db, {
        runId,
        id: asked.request.id,
        state: "granted",
        by: "maintainer",
        secret: h.tokenSecret,
      });
      const openai = h.openai(token);
      const before = h.upstream.requests.length;
      const served = await openai.responses.create({
        model: "gpt-4.1",
        input: "hello",
        tools: [{ type: "web_search" }],
      });
      assert.equal(served.object, "response");
      assert.equal(h.upstream.requests.length, before + 1, "the granted tool was forwarded");
      await expectRefused(
        () =>
          openai.responses.create({
            model: "gpt-4.1",
            input: "hello",
            tools: [{ type: "code_interpreter", container: { type: "auto" } }],
          }),
        /llm-tool:code_interpreter/,
      );
    });

    it("refuses a model outside the run's allow-list, and an unpriced one under a USD budget", async () => {
      const { token } = await agentRun({ budgetUsd: "1" });
      const openai = h.openai(token);
      await expectRefused(
        () => openai.chat.completions.create({ model: "o1", messages: [{ role: "user", content: "x" }] }),
        /model: "o1" is not allowed for this run \(allowed: gpt-4o-mini, claude-haiku-4-5, gpt-4\.1-mini, gpt-4\.1\)/,
      );
      // A run whose model has no price: under a USD budget it could never be counted.
      const pricedOut = await agentRun({ budgetUsd: "1", model: "o3-pro" });
      await expectRefused(
        () => h.openai(pricedOut.token).responses.create({ model: "o3-pro", input: "x" }),
        /model: "o3-pro" has no price.*USD budget.*AIRLOCK_PRICES_FILE/,
      );
      // Without a USD budget it is only flagged unpriced (tokens still count).
      const tokensOnly = await agentRun({ model: "o3-pro" });
      await h.openai(tokensOnly.token).responses.create({ model: "o3-pro", input: "x" });
      // A manual run is bound by the operator's list once there is one.
      const manual = await h.newRun();
      await expectRefused(
        () => h.openai(manual.token).responses.create({ model: "o3-pro", input: "x" }),
        /model: "o3-pro" is not allowed for this run \(allowed: gpt-4o-mini\)/,
      );
      // The agent's own models pass: its run model, its agent's default, its repository's.
      const served = await openai.chat.completions.create({
        model: "gpt-4.1",
        messages: [{ role: "user", content: "x" }],
      });
      assert.equal(served.choices.length, 1);
    });

    it("passes a Claude Code request byte for byte: body, ?beta=true, generation betas, its own headers", async () => {
      const { token } = await agentRun();
      const text = JSON.stringify(claudeCodeBody("claude-haiku-4-5", "[[script:cc]]"));
      h.upstream.define("cc", { chunks: 3 });
      const response = await fetch(`${h.url}/v1/messages${claudeCodeQuery}`, {
        method: "POST",
        headers: { ...claudeCodeHeaders, "content-type": "application/json", "x-api-key": token },
        body: text,
      });
      assert.equal(response.status, 200);
      const events = await response.text();
      assert.match(events, /event: message_stop/);
      const sent = h.upstream.requests.at(-1)!;
      assert.equal(sent.rawBody, text, "the body reaches the provider unchanged");
      assert.equal(sent.query, claudeCodeQuery);
      for (const [name, value] of Object.entries(claudeCodeHeaders))
        assert.equal(sent.headers[name], value, name);
      assert.equal(sent.headers["x-api-key"], "sk-ant-test-upstream-key");
      for (const header of ["openai-organization", "openai-project", "anthropic-organization-id"]) {
        assert.equal(response.headers.get(header), null, `${header} does not come back to the agent`);
      }
    });

    it("passes a Codex request unchanged apart from the injected max_output_tokens", async () => {
      const { token } = await agentRun();
      const body = codexBody("gpt-4.1", "[[script:codex]]");
      h.upstream.define("codex", { chunks: 3 });
      const response = await fetch(`${h.url}/v1/responses`, {
        method: "POST",
        headers: { ...codexHeaders, "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(body),
      });
      assert.equal(response.status, 200);
      assert.match(await response.text(), /response\.completed/);
      const sent = h.upstream.requests.at(-1)!;
      assert.equal(sent.rawBody, JSON.stringify({ ...body, max_output_tokens: 32_768 }));
      for (const [name, value] of Object.entries(codexHeaders)) assert.equal(sent.headers[name], value, name);
    });

    it("sends the operator's organization, never the agent's, and hands back neither", async () => {
      const { token } = await agentRun();
      const openai = new OpenAI({
        baseURL: `${h.url}/v1`,
        apiKey: token,
        maxRetries: 0,
        organization: "org-agent-chosen",
        project: "proj_agent_chosen",
      });
      const { response } = await openai.chat.completions
        .create({ model: "gpt-4.1", messages: [{ role: "user", content: "x" }] })
        .withResponse();
      const sent = h.upstream.requests.at(-1)!;
      assert.equal(sent.headers["openai-organization"], "org-operator-choice");
      assert.equal(sent.headers["openai-project"], undefined);
      assert.equal(response.headers.get("openai-organization"), null);
      assert.equal(response.headers.get("openai-project"), null);
      assert.ok(response.headers.get("content-type")?.startsWith("application/json"));
    });

    it("drops the betas that switch on server-side reach and keeps generation betas", async () => {
      const { token } = await agentRun();
      const anthropic = h.anthropic(token);
      await anthropic.beta.messages.create({
        model: "claude-haiku-4-5",
        max_tokens: 50,
        messages: [{ role: "user", content: "x" }],
        betas: ["interleaved-thinking-2025-05-14", "files-api-2025-04-14", "code-execution-2025-08-25"],
      });
      assert.equal(h.upstream.requests.at(-1)!.headers["anthropic-beta"], "interleaved-thinking-2025-05-14");
    });
  });
}
