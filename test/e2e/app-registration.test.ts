import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { startAirlockProcess } from "./start-airlock-process.ts";

describe("airlock app without credentials", () => {
  it("serves Probot's register-a-GitHub-App page with the manifest from app.yml", async () => {
    const app = await startAirlockProcess("app", {
      // Probot's registration server reads PORT itself and takes 0 for "unset" (3000).
      PORT: String(20000 + (process.pid % 20000)),
      HOST: "127.0.0.1",
      AIRLOCK_LOG_LEVEL: "warn",
    });
    try {
      assert.match(app.ready, /App registration/);
      const response = await fetch(`${app.url}/probot`);
      assert.equal(response.status, 200);
      const html = await response.text();
      // The manifest rides in the page's form as HTML-escaped JSON.
      const json = /name="manifest"[^>]*value="([^"]+)"/.exec(html)?.[1] ?? /value='([^']+)'/.exec(html)?.[1];
      assert.ok(json, html.slice(0, 2000));
      const manifest = JSON.parse(json.replaceAll("&quot;", '"').replaceAll("&amp;", "&")) as {
        name: string;
        default_events: string[];
        default_permissions: Record<string, string>;
        hook_attributes: { url: string };
      };
      assert.equal(manifest.name, "Airlock");
      assert.deepEqual(manifest.default_events, ["issues", "issue_comment", "pull_request_review_comment"]);
      assert.deepEqual(manifest.default_permissions, {
        metadata: "read",
        contents: "write",
        issues: "write",
        pull_requests: "write",
      });
      // Probot registers the server's root as the webhook URL; `airlock app` accepts
      // deliveries there as well as on /api/github/webhooks (the e2e test sends to both).
      assert.equal(manifest.hook_attributes.url, `${app.url}/`);
    } finally {
      await app.stop();
    }
  });

  it("airlock up without credentials says what to set and how to register an App", async () => {
    await assert.rejects(
      startAirlockProcess("up", { AIRLOCK_TOKEN_SECRET: "x".repeat(40) }),
      /needs the GitHub App's APP_ID and PRIVATE_KEY[\s\S]*app\.yml/,
    );
  });
});
