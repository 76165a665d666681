import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { startAirlockProcess } from "./start-airlock-process.ts";

const testKey = () =>
  generateKeyPairSync("rsa", { modulusLength: 2048 })
    .privateKey.export({ type: "pkcs1", format: "pem" })
    .toString();

describe("starting the services", () => {
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
      assert.deepEqual(manifest.default_events, [
        "issues",
        "issue_comment",
        "pull_request_review_comment",
        "pull_request_review",
        "workflow_run",
      ]);
      assert.deepEqual(manifest.default_permissions, {
        metadata: "read",
        contents: "write",
        issues: "write",
        pull_requests: "write",
        actions: "write",
        checks: "read",
      });
      // Probot registers the server's root as the webhook URL; `airlock app` accepts
      // deliveries there as well as on /api/github/webhooks (the e2e test sends to both).
      assert.equal(manifest.hook_attributes.url, `${app.url}/`);
    } finally {
      await app.stop();
    }
  });

  it("airlock runner without DATABASE_URL refuses: the embedded database serves one process", async () => {
    await assert.rejects(
      startAirlockProcess("runner", {
        APP_ID: "1",
        PRIVATE_KEY: testKey(),
        AIRLOCK_TOKEN_SECRET: "x".repeat(40),
      }),
      /set DATABASE_URL[\s\S]*airlock up/,
    );
  });

  it("airlock up without credentials says what to set and how to register an App", async () => {
    await assert.rejects(
      startAirlockProcess("up", { AIRLOCK_TOKEN_SECRET: "x".repeat(40) }),
      /needs the GitHub App's APP_ID and PRIVATE_KEY[\s\S]*app\.yml/,
    );
  });

  it("airlock up reads the App's credentials from ./.env as registration wrote them, and serves /healthz on the embedded database", async () => {
    const dir = await mkdtemp(join(tmpdir(), "airlock-up-"));
    // The format of Probot's updateEnv: one line per key, the key's newlines escaped in quotes.
    await writeFile(
      join(dir, ".env"),
      `APP_ID=1\nPRIVATE_KEY="${testKey().trim().replaceAll("\n", "\\n")}"\nWEBHOOK_SECRET=s\n`,
    );
    const up = await startAirlockProcess(
      "up",
      {
        AIRLOCK_TOKEN_SECRET: "x".repeat(40),
        OPENAI_BASE_URL: "http://127.0.0.1:9/v1",
        AIRLOCK_DATA_DIR: dir,
        PORT: "0",
        HOST: "127.0.0.1",
        AIRLOCK_LOG_LEVEL: "warn",
      },
      { cwd: dir },
    );
    try {
      assert.match(up.ready, /database: embedded PGlite/);
      assert.doesNotMatch(up.url, /:3000$/, "PORT=0 picks a free port");
      const health = await fetch(`${up.url}/healthz`);
      assert.equal(health.status, 200);
      assert.deepEqual(await health.json(), { status: "ok", database: "ok", docker: "ok" });
    } finally {
      assert.equal(await up.stop(), 0);
      await rm(dir, { recursive: true, force: true });
    }
  });
});
