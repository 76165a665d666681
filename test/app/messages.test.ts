// @unit: no Docker, no database, no child process (npm run test:unit runs these).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mentionUser } from "../../core/summary/mention-user.ts";
import { renderAgentNotAllowed } from "../../app/messages/render-agent-not-allowed.ts";
import { renderConfigProblems } from "../../app/messages/render-config-problems.ts";
import { renderPermissionRefusal } from "../../app/messages/render-permission-refusal.ts";
import { renderTrackingComment } from "../../core/summary/render-tracking-comment.ts";

describe("the app's messages", () => {
  it("mention real logins, and show anything else as escaped text", () => {
    assert.equal(mentionUser("octo-cat"), "@octo-cat");
    assert.equal(mentionUser("evil<img src=x>"), "evil&lt;img src=x&gt;");
  });

  it("put an untrusted agent name from a label in a code span it cannot break out of", () => {
    const body = renderAgentNotAllowed("maint", "x` <img src=x onerror=alert(1)> `", ["builtin"]);
    assert.ok(body.includes("`` x` <img src=x onerror=alert(1)> ` ``"), body);
    assert.match(body, /Allowed: `builtin`/);
  });

  it("list each config problem as `key`: message, with markup in messages escaped", () => {
    const body = renderConfigProblems("maint", [
      { key: "budget.usd", message: "must be a number" },
      { key: '"<b>"', message: "unknown key; allowed here: <b>" },
    ]);
    assert.match(body, /^- `budget\.usd`: must be a number$/m);
    assert.match(body, /^- `"<b>"`: unknown key; allowed here: &lt;b&gt;$/m);
  });

  it("the permission refusal names the level and nothing else of the sender's", () => {
    assert.equal(
      renderPermissionRefusal("reader", "write"),
      "@reader thanks for the interest — starting or steering Airlock runs here needs `write` permission on this repository, so nothing was started. A maintainer can start a run on this issue.",
    );
  });

  it("the tracking comment carries the runner's marker, the budget and who was left out", () => {
    const run = {
      id: "rabc",
      agent: "builtin",
      model: "gpt-4.1-mini",
      attempt: 0,
      createdAt: new Date(0),
      finishedAt: null,
    };
    const body = renderTrackingComment(run, undefined, {
      queued: { budgetUsd: 2, budgetTokens: 1_000_000, sender: "maint", withheldAuthors: ["reader"] },
    });
    assert.ok(body.startsWith("<!-- airlock:tracking:rabc -->\n"));
    assert.match(
      body,
      /Airlock run `rabc` queued: agent `builtin`, model `gpt-4\.1-mini`, budget \$2\.00 \/ 1,000,000 tokens/,
    );
    assert.match(body, /text by `reader`/);
    assert.doesNotMatch(body, /@reader/, "people whose text was withheld are not pinged");
  });
});
