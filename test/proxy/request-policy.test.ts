import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { checkRequestBody } from "../../runner/proxy/policy/check-request-body.ts";
import { describePolicyRefusal } from "../../runner/proxy/policy/describe-policy-refusal.ts";
import { endpointPolicies } from "../../runner/proxy/policy/endpoint-policies.ts";
import type { EndpointPolicy, RefusalRule } from "../../runner/proxy/policy/endpoint-policy.ts";
import { claudeCodeBody } from "../fixtures/agent-requests/claude-code-request.ts";
import { codexBody } from "../fixtures/agent-requests/codex-request.ts";

const chat = endpointPolicies["POST /v1/chat/completions"]!;
const responses = endpointPolicies["POST /v1/responses"]!;
const messages = endpointPolicies["POST /v1/messages"]!;
const countTokens = endpointPolicies["POST /v1/messages/count_tokens"]!;
const none: ReadonlySet<string> = new Set();

const chatBody = (extra: Record<string, unknown> = {}) => ({
  model: "gpt-4.1-mini",
  messages: [
    { role: "system", content: "You are a coding agent." },
    {
      role: "user",
      content: [
        { type: "text", text: "Fix it." },
        { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
        { type: "file", file: { filename: "a.pdf", file_data: "data:application/pdf;base64,JVBERi0=" } },
      ],
    },
    {
      role: "assistant",
      content: null,
      tool_calls: [{ id: "c1", type: "function", function: { name: "read", arguments: '{"file_id":"x"}' } }],
    },
    { role: "tool", tool_call_id: "c1", content: "ok" },
  ],
  tools: [{ type: "function", function: { name: "read", parameters: { type: "object" } } }],
  tool_choice: "auto",
  stream: true,
  stream_options: { include_usage: true },
  temperature: 0.2,
  reasoning_effort: "low",
  service_tier: "auto",
  ...extra,
});

/** One case per refusal: the endpoint, a body, the field and grant the refusal must name. */
const refusals: Array<{
  name: string;
  policy: EndpointPolicy;
  body: Record<string, unknown>;
  field: RegExp;
  grant: string;
}> = [
  {
    name: "chat web_search_options",
    policy: chat,
    body: chatBody({ web_search_options: {} }),
    field: /^web_search_options$/,
    grant: "web_search",
  },
  {
    name: "chat hosted tool type",
    policy: chat,
    body: chatBody({ tools: [{ type: "function", function: { name: "f" } }, { type: "web_search" }] }),
    field: /^tools\[1\]\.type$/,
    grant: "web_search",
  },
  {
    name: "chat stored file",
    policy: chat,
    body: chatBody({
      messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-abc" } }] }],
    }),
    field: /^messages\[0\]\.content\[0\]\.file\.file_id$/,
    grant: "files",
  },
  {
    name: "chat remote image",
    policy: chat,
    body: chatBody({
      messages: [
        {
          role: "user",
          content: [{ type: "image_url", image_url: { url: "https://attacker.example/x.png?d=secret" } }],
        },
      ],
    }),
    field: /image_url\.url$/,
    grant: "url_inputs",
  },
  {
    name: "chat audio output",
    policy: chat,
    body: chatBody({ modalities: ["text", "audio"], audio: { voice: "alloy", format: "wav" } }),
    field: /^(audio|modalities)$/,
    grant: "audio",
  },
  {
    name: "chat priority tier",
    policy: chat,
    body: chatBody({ service_tier: "priority" }),
    field: /^service_tier$/,
    grant: "service_tier",
  },
  {
    name: "responses mcp",
    policy: responses,
    body: {
      ...codexBody("gpt-5"),
      tools: [{ type: "mcp", server_label: "x", server_url: "https://attacker.example/mcp" }],
    },
    field: /^tools\[0\]\.type$/,
    grant: "mcp",
  },
  {
    name: "responses web_search_preview",
    policy: responses,
    body: { ...codexBody("gpt-5"), tools: [{ type: "web_search_preview_2025_03_11" }] },
    field: /^tools\[0\]\.type$/,
    grant: "web_search",
  },
  {
    name: "responses code_interpreter",
    policy: responses,
    body: { ...codexBody("gpt-5"), tools: [{ type: "code_interpreter", container: { type: "auto" } }] },
    field: /^tools\[0\]\.type$/,
    grant: "code_interpreter",
  },
  {
    name: "responses image_generation",
    policy: responses,
    body: { ...codexBody("gpt-5"), tools: [{ type: "image_generation" }] },
    field: /^tools\[0\]\.type$/,
    grant: "image_generation",
  },
  {
    name: "responses file_search",
    policy: responses,
    body: { ...codexBody("gpt-5"), tools: [{ type: "file_search", vector_store_ids: ["vs_1"] }] },
    field: /^tools\[0\]\.type$/,
    grant: "file_search",
  },
  {
    name: "responses hosted shell",
    policy: responses,
    body: { ...codexBody("gpt-5"), tools: [{ type: "shell", environment: { type: "container_auto" } }] },
    field: /^tools\[0\]\.type$/,
    grant: "shell",
  },
  {
    name: "responses background",
    policy: responses,
    body: { ...codexBody("gpt-5"), background: true },
    field: /^background$/,
    grant: "background",
  },
  {
    name: "responses previous_response_id",
    policy: responses,
    body: { ...codexBody("gpt-5"), previous_response_id: "resp_other_run" },
    field: /^previous_response_id$/,
    grant: "stored_responses",
  },
  {
    name: "responses item_reference",
    policy: responses,
    body: { ...codexBody("gpt-5"), input: [{ type: "item_reference", id: "msg_1" }] },
    field: /^input\[0\]\.type$/,
    grant: "stored_responses",
  },
  {
    name: "responses stored prompt",
    policy: responses,
    body: { ...codexBody("gpt-5"), prompt: { id: "pmpt_1" } },
    field: /^prompt$/,
    grant: "stored_prompts",
  },
  {
    name: "responses input_file file_id",
    policy: responses,
    body: {
      ...codexBody("gpt-5"),
      input: [{ role: "user", content: [{ type: "input_file", file_id: "file-1" }] }],
    },
    field: /^input\[0\]\.content\[0\]\.file_id$/,
    grant: "files",
  },
  {
    name: "responses input_image URL",
    policy: responses,
    body: {
      ...codexBody("gpt-5"),
      input: [
        { role: "user", content: [{ type: "input_image", image_url: "http://169.254.169.254/latest" }] },
      ],
    },
    field: /image_url$/,
    grant: "url_inputs",
  },
  {
    name: "responses input_file URL",
    policy: responses,
    body: {
      ...codexBody("gpt-5"),
      input: [
        { role: "user", content: [{ type: "input_file", file_url: "https://attacker.example/f.pdf" }] },
      ],
    },
    field: /file_url$/,
    grant: "url_inputs",
  },
  {
    name: "responses scale tier",
    policy: responses,
    body: { ...codexBody("gpt-5"), service_tier: "scale" },
    field: /^service_tier$/,
    grant: "service_tier",
  },
  {
    name: "messages web_search tool",
    policy: messages,
    body: {
      ...claudeCodeBody("claude-sonnet-4-5"),
      tools: [{ type: "web_search_20250305", name: "web_search", max_uses: 5 }],
    },
    field: /^tools\[0\]\.type$/,
    grant: "web_search",
  },
  {
    name: "messages web_fetch tool",
    policy: messages,
    body: {
      ...claudeCodeBody("claude-sonnet-4-5"),
      tools: [{ type: "web_fetch_20250910", name: "web_fetch" }],
    },
    field: /^tools\[0\]\.type$/,
    grant: "web_fetch",
  },
  {
    name: "messages code_execution tool",
    policy: messages,
    body: {
      ...claudeCodeBody("claude-sonnet-4-5"),
      tools: [{ type: "code_execution_20250825", name: "code_execution" }],
    },
    field: /^tools\[0\]\.type$/,
    grant: "code_execution",
  },
  {
    name: "messages mcp_servers",
    policy: messages,
    body: {
      ...claudeCodeBody("claude-sonnet-4-5"),
      mcp_servers: [{ type: "url", url: "https://attacker.example/mcp", name: "x" }],
    },
    field: /^mcp_servers$/,
    grant: "mcp",
  },
  {
    name: "messages container",
    policy: messages,
    body: {
      ...claudeCodeBody("claude-sonnet-4-5"),
      container: { skills: [{ type: "anthropic", skill_id: "pptx" }] },
    },
    field: /^container$/,
    grant: "code_execution",
  },
  {
    name: "messages file source",
    policy: messages,
    body: {
      ...claudeCodeBody("claude-sonnet-4-5"),
      messages: [
        { role: "user", content: [{ type: "document", source: { type: "file", file_id: "file_011" } }] },
      ],
    },
    field: /source\.file_id$/,
    grant: "files",
  },
  {
    name: "messages url source in a tool_result",
    policy: messages,
    body: {
      ...claudeCodeBody("claude-sonnet-4-5"),
      messages: [
        {
          role: "user",
          content: [
            {
              type: "tool_result",
              tool_use_id: "t",
              content: [{ type: "image", source: { type: "url", url: "https://attacker.example/?q=repo" } }],
            },
          ],
        },
      ],
    },
    field: /^messages\[0\]\.content\[0\]\.content\[0\]\.source\.url$/,
    grant: "url_inputs",
  },
  {
    name: "messages container_upload",
    policy: messages,
    body: {
      ...claudeCodeBody("claude-sonnet-4-5"),
      messages: [{ role: "user", content: [{ type: "container_upload", file_id: "file_1" }] }],
    },
    field: /^messages\[0\]\.content\[0\]\./,
    grant: "files",
  },
  {
    name: "messages priority tier",
    policy: messages,
    body: { ...claudeCodeBody("claude-sonnet-4-5"), service_tier: "priority" },
    field: /^service_tier$/,
    grant: "service_tier",
  },
  {
    name: "messages fast mode",
    policy: messages,
    body: { ...claudeCodeBody("claude-opus-4-5"), speed: "fast" },
    field: /^speed$/,
    grant: "fast_mode",
  },
  {
    name: "count_tokens mcp_servers",
    policy: countTokens,
    body: {
      model: "claude-sonnet-4-5",
      messages: [{ role: "user", content: "hi" }],
      mcp_servers: [{ type: "url", url: "https://x.example" }],
    },
    field: /^mcp_servers$/,
    grant: "mcp",
  },
];

describe("request policy tables", () => {
  it("pass Claude Code's, Codex's and a chat agent's requests untouched", () => {
    assert.deepEqual(checkRequestBody(messages, claudeCodeBody("claude-sonnet-4-5"), none), []);
    assert.deepEqual(checkRequestBody(countTokens, claudeCodeBody("claude-sonnet-4-5"), none), []);
    assert.deepEqual(checkRequestBody(responses, codexBody("gpt-5"), none), []);
    assert.deepEqual(checkRequestBody(chat, chatBody(), none), []);
    // Client-run tools of every kind pass; store, flex tier and standard speed too.
    const clientTools = {
      ...codexBody("gpt-5"),
      tools: [
        { type: "local_shell" },
        { type: "shell" },
        { type: "apply_patch" },
        { type: "computer_use_preview", environment: "browser" },
      ],
      service_tier: "flex",
      store: true,
      background: false,
    };
    assert.deepEqual(checkRequestBody(responses, clientTools, none), []);
    const anthropicClientTools = {
      ...claudeCodeBody("claude-sonnet-4-5"),
      tools: [
        { type: "bash_20250124", name: "bash" },
        { type: "text_editor_20250728", name: "str_replace_based_edit_tool" },
        { type: "custom", name: "x", input_schema: {} },
      ],
      service_tier: "standard_only",
      speed: "standard",
    };
    assert.deepEqual(checkRequestBody(messages, anthropicClientTools, none), []);
  });

  for (const c of refusals) {
    it(`refuses ${c.name}, naming the field and the grant`, () => {
      const findings = checkRequestBody(c.policy, c.body, none);
      assert.ok(findings.length > 0, "refused");
      const finding = findings.find((f) => c.field.test(f.field));
      assert.ok(finding, `a finding at ${String(c.field)}: ${JSON.stringify(findings)}`);
      assert.equal(finding.grant, c.grant);
      assert.deepEqual(
        checkRequestBody(c.policy, c.body, new Set([...findings.map((f) => f.grant)])),
        [],
        "the grant opens it",
      );
    });
  }

  it("exercises every row of every table (a row nobody tests is a row nobody reviewed)", () => {
    const hit = new Set<RefusalRule>();
    for (const c of refusals) {
      for (const rule of c.policy.refused) if (rule.find(c.body).length > 0) hit.add(rule);
    }
    for (const policy of Object.values(endpointPolicies)) {
      for (const rule of policy.refused)
        assert.ok(hit.has(rule), `${policy.route}: ${rule.field} has no test case`);
    }
  });

  it("never quotes a URL back (it may carry what is being smuggled) and says how to ask", () => {
    const body = refusals.find((c) => c.name === "chat remote image")!.body;
    const message = describePolicyRefusal(checkRequestBody(chat, body, none));
    assert.doesNotMatch(message, /attacker|secret/);
    assert.match(message, /https URL/);
    assert.match(message, /llm-tool:url_inputs/);
    assert.match(message, /airlock-request/);
    assert.match(message, /\/airlock\/v1\/capabilities/);
    assert.match(message, /maintainer approves/);
    assert.match(message, /Nothing was sent to the provider/);
  });

  it("does not read a tool call's own arguments as references, and survives deep nesting", () => {
    const body = {
      ...claudeCodeBody("claude-sonnet-4-5"),
      messages: [
        {
          role: "assistant",
          content: [
            {
              type: "tool_use",
              id: "t",
              name: "Fetch",
              input: { file_id: "f", source: { type: "url", url: "https://x" } },
            },
          ],
        },
      ],
    };
    assert.deepEqual(checkRequestBody(messages, body, none), []);
    let deep: unknown = { type: "image", source: { type: "url", url: "https://deep.example" } };
    for (let i = 0; i < 50_000; i += 1) deep = [deep];
    const findings = checkRequestBody(messages, { model: "m", messages: deep }, none);
    assert.equal(findings.length, 1);
    assert.equal(findings[0]?.grant, "url_inputs");
  });
});
