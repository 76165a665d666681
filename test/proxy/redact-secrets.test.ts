// @unit: no Docker, no database, no child process (npm run test:unit runs these).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redactSecrets } from "../../runner/proxy/redact-secrets.ts";
import { mintRunToken } from "../../runner/proxy/run-token.ts";

describe("redactSecrets", () => {
  it("removes literal secrets, keys, bearer tokens, private keys, run tokens and credential fields", () => {
    const runToken = mintRunToken({
      runId: "r1",
      attempt: 0,
      expiresAt: 2_000_000_000,
      secret: "s".repeat(32),
    });
    const literal = "operator-literal-secret-value";
    const text = JSON.stringify({
      messages: [
        {
          content: [
            `token ${runToken}`,
            `openai sk-proj-abcdefghijklmnopqrstuvwx`,
            `anthropic sk-ant-api03-abcdefghijklmnopqrstuvwxyz`,
            `Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig`,
            `github ghp_abcdefghijklmnopqrstuvwxyz0123456789`,
            `aws AKIAABCDEFGHIJKLMNOP`,
            `-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n-----END OPENSSH PRIVATE KEY-----`,
            `literal ${literal}`,
          ].join("\n"),
        },
      ],
      api_key: "plain-looking-value",
      password: "hunter2hunter2",
    });
    const out = redactSecrets(text, [literal]);
    for (const secret of [
      runToken,
      "sk-proj-abcdefghijklmnopqrstuvwx",
      "sk-ant-api03",
      "eyJhbGciOiJIUzI1NiJ9",
      "ghp_abcdef",
      "AKIAABCDEFGHIJKLMNOP",
      "b3BlbnNzaC1rZXk",
      literal,
      "plain-looking-value",
      "hunter2hunter2",
    ]) {
      assert.ok(!out.includes(secret), `${secret} was redacted`);
    }
    // Still valid JSON, ordinary words kept.
    const parsed = JSON.parse(out) as { messages: { content: string }[] };
    assert.match(parsed.messages[0]!.content, /^token \[REDACTED\]/);
    assert.match(parsed.messages[0]!.content, /openai \[REDACTED\]/);
  });

  it("finds each kind of secret on its own, in any letter case the pattern allows", () => {
    // One secret per text: each pattern's quick pre-check (redact-secrets.ts) must let its own match through.
    const cases: [text: string, secret: string][] = [
      ["BEARER abcdefghijklmnop1234", "abcdefghijklmnop1234"],
      ["Basic dXNlcjpwYXNzd29yZDEyMw==", "dXNlcjpwYXNzd29yZDEyMw=="],
      ["TOKEN abcdefghijklmnop1234", "abcdefghijklmnop1234"],
      ["key=sk-abcdefghijklmnop1234", "sk-abcdefghijklmnop1234"],
      ["github_pat_abcdefghijklmnopqrstuv_0123", "github_pat_abcdefghijklmnopqrstuv_0123"],
      ["gho_abcdefghijklmnopqrstuvwxyz", "gho_abcdefghijklmnopqrstuvwxyz"],
      ["ASIAABCDEFGHIJKLMNOP", "ASIAABCDEFGHIJKLMNOP"],
      [`google AIza${"a".repeat(35)}`, `AIza${"a".repeat(35)}`],
      ["slack xoxb-1234567890-abcdef", "xoxb-1234567890-abcdef"],
      ['{"API_KEY": "short1"}', "short1"],
      ['{"Client_Secret":"short2"}', "short2"],
      ['{"X-Api-Key" : "short3"}', "short3"],
      ['{"ACCESS_TOKEN":"short4"}', "short4"],
      ["-----BEGIN EC PRIVATE KEY-----\\nMHcCAQEE\\n-----END EC PRIVATE KEY-----", "MHcCAQEE"],
    ];
    for (const [text, secret] of cases) {
      const out = redactSecrets(text);
      assert.ok(!out.includes(secret), `${JSON.stringify(text)}: ${secret} was redacted (got ${out})`);
      assert.ok(out.includes("[REDACTED]"), `${JSON.stringify(text)}: marked`);
    }
  });

  it("leaves text without secrets alone", () => {
    const text =
      '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"Tokenize the 3.5.2 release notes"}]}';
    assert.equal(redactSecrets(text, ["short"]), text);
  });
});
