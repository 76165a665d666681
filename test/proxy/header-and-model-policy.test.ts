import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { AgentDefinition } from "../../core/agents/agent-definition.ts";
import { defaultPriceTable } from "../../runner/proxy/price-table.ts";
import { buildUpstreamHeaders } from "../../runner/proxy/steps/build-upstream-headers.ts";
import { checkModelPolicy } from "../../runner/proxy/policy/check-model-policy.ts";
import { filterAnthropicBeta } from "../../runner/proxy/policy/filter-anthropic-beta.ts";
import { filterResponseHeaders } from "../../runner/proxy/policy/filter-response-headers.ts";
import { isModelAllowed, readModelAllowList } from "../../runner/proxy/policy/model-allow-list.ts";
import { claudeCodeHeaders } from "../fixtures/agent-requests/claude-code-request.ts";
import { codexHeaders } from "../fixtures/agent-requests/codex-request.ts";

const none: ReadonlySet<string> = new Set();
const openai = { format: "openai" as const, apiKey: "sk-real", organization: undefined, project: undefined };
const anthropic = {
  format: "anthropic" as const,
  apiKey: "sk-ant-real",
  organization: undefined,
  project: undefined,
};

describe("headers, both ways", () => {
  it("forwards what Claude Code and Codex send to describe themselves, and nothing else", () => {
    const cc = buildUpstreamHeaders(
      {
        ...claudeCodeHeaders,
        "x-api-key": "run-token",
        host: "127.0.0.1",
        cookie: "a=b",
        "x-forwarded-for": "1.2.3.4",
        "x-custom-exfil": "repo",
      },
      anthropic,
      none,
      true,
    );
    assert.deepEqual(cc, {
      ...claudeCodeHeaders,
      "content-type": "application/json",
      "accept-encoding": "identity",
      "x-api-key": "sk-ant-real",
    });
    const codex = buildUpstreamHeaders(
      { ...codexHeaders, authorization: "Bearer run-token" },
      openai,
      none,
      true,
    );
    assert.deepEqual(codex, {
      ...codexHeaders,
      "content-type": "application/json",
      "accept-encoding": "identity",
      authorization: "Bearer sk-real",
    });
  });

  it("never forwards the agent's organization or project; sends the operator's", () => {
    const agent = { "openai-organization": "org-attacker", "openai-project": "proj_attacker" };
    assert.equal(buildUpstreamHeaders(agent, openai, none, false)["openai-organization"], undefined);
    assert.equal(buildUpstreamHeaders(agent, openai, none, false)["openai-project"], undefined);
    const operator = buildUpstreamHeaders(
      agent,
      { ...openai, organization: "org-op", project: "proj_op" },
      none,
      false,
    );
    assert.equal(operator["openai-organization"], "org-op");
    assert.equal(operator["openai-project"], "proj_op");
  });

  it("drops the betas that switch on server-side reach or unpriced spend, unless granted", () => {
    const value =
      "claude-code-20250219, mcp-client-2025-04-04,web-fetch-2025-09-10,code-execution-2025-08-25,files-api-2025-04-14,skills-2025-10-02,context-1m-2025-08-07,effort-2025-11-24";
    const filtered = filterAnthropicBeta(value, none);
    assert.equal(filtered.value, "claude-code-20250219,effort-2025-11-24");
    assert.deepEqual(filtered.dropped, [
      "mcp-client-2025-04-04",
      "web-fetch-2025-09-10",
      "code-execution-2025-08-25",
      "files-api-2025-04-14",
      "skills-2025-10-02",
      "context-1m-2025-08-07",
    ]);
    assert.equal(filterAnthropicBeta("mcp-client-2025-04-04", none).value, undefined);
    assert.equal(
      filterAnthropicBeta("mcp-client-2025-04-04", new Set(["mcp"])).value,
      "mcp-client-2025-04-04",
    );
    const sent = buildUpstreamHeaders({ "anthropic-beta": value }, anthropic, none, true);
    assert.equal(sent["anthropic-beta"], "claude-code-20250219,effort-2025-11-24");
  });

  it("returns what the SDKs read, never the operator's account", () => {
    const back = filterResponseHeaders({
      "content-type": "text/event-stream",
      "request-id": "req_1",
      "x-request-id": "req_2",
      "retry-after": "3",
      "x-ratelimit-remaining-tokens": "100",
      "anthropic-ratelimit-requests-remaining": "5",
      "openai-processing-ms": "12",
      "openai-organization": "org-operator",
      "openai-project": "proj_operator",
      "anthropic-organization-id": "uuid-operator",
      "set-cookie": ["__cf_bm=x"],
      "cf-ray": "abc",
    });
    assert.deepEqual(Object.keys(back).sort(), [
      "anthropic-ratelimit-requests-remaining",
      "content-type",
      "openai-processing-ms",
      "request-id",
      "retry-after",
      "x-ratelimit-remaining-tokens",
      "x-request-id",
    ]);
  });
});

describe("model policy", () => {
  const catalog = [{ id: "claude-code", defaultModel: "claude-sonnet-4-5" }] as unknown as AgentDefinition[];

  it("allows the run's model, its agent's, its repository's and the operator's, with snapshots and globs", () => {
    const list = readModelAllowList(
      { kind: "github", agent: "claude-code", model: "claude-haiku-4-5", repoConfig: { model: "gpt-4.1" } },
      ["o4-mini", "llama3*"],
      catalog,
    );
    for (const model of [
      "claude-haiku-4-5",
      "claude-haiku-4-5-20251001",
      "claude-sonnet-4-5",
      "gpt-4.1",
      "gpt-4.1-2025-04-14",
      "o4-mini",
      "llama3.1:8b",
    ]) {
      assert.ok(isModelAllowed(list, model), model);
    }
    for (const model of ["o3-pro", "claude-opus-4-5", "gpt-4.1-mini", "gpt-4.1-evil", "claude-haiku-4-5x"]) {
      assert.ok(!isModelAllowed(list, model), model);
    }
  });

  it("lets a manual run call any model until the operator lists some", () => {
    const manual = { kind: "manual", agent: null, model: null, repoConfig: null };
    assert.ok(isModelAllowed(readModelAllowList(manual, [], catalog), "anything"));
    const bound = readModelAllowList(manual, ["gpt-4o-mini"], catalog);
    assert.ok(isModelAllowed(bound, "gpt-4o-mini"));
    assert.ok(!isModelAllowed(bound, "o3-pro"));
  });

  it("refuses a model outside the list, and an unpriced model under a USD budget", () => {
    const list = { kind: "listed" as const, patterns: ["gpt-4.1-mini", "o3-pro", "llama3"] };
    const outside = checkModelPolicy("o1", list, defaultPriceTable, false);
    assert.ok(!outside.ok && outside.reason === "not_allowed");
    assert.match(
      !outside.ok ? outside.message : "",
      /not allowed for this run \(allowed: gpt-4\.1-mini, o3-pro, llama3\).*AIRLOCK_ALLOWED_MODELS/,
    );
    const unpriced = checkModelPolicy("o3-pro", list, defaultPriceTable, true);
    assert.ok(!unpriced.ok && unpriced.reason === "unpriced");
    assert.match(!unpriced.ok ? unpriced.message : "", /AIRLOCK_PRICES_FILE/);
    assert.deepEqual(
      checkModelPolicy("llama3", list, defaultPriceTable, false),
      { ok: true },
      "unpriced without a USD budget",
    );
    assert.deepEqual(checkModelPolicy("gpt-4.1-mini", list, defaultPriceTable, true), { ok: true });
  });
});
