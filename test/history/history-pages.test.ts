import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createHistoryApp } from "../../app/history/create-history-app.ts";
import type { Database } from "../../core/db/open-database.ts";
import { createLogger } from "../../core/logger.ts";
import { runCli } from "../helpers/run-cli.ts";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { seedRunHistory, type SeededHistory } from "./seed-run-history.ts";

/**
 * The run-history pages in-process (Hono's app.request): who is let in, and what a bad
 * request gets. The browser test (history-browser.test.ts) checks what the pages show.
 */

const secret = "history-token-secret-0123456789abcdef0123456789";
const operatorToken = "operators-history-token-0123456789abcdef";
const origin = "http://airlock.test";

for (const kind of testDatabaseKinds()) {
  describe(`run-history pages (${kind.name})`, { skip: kind.skip }, () => {
    let database: { database: Database; drop(): Promise<void> };
    let seeded: SeededHistory;
    let app: ReturnType<typeof createHistoryApp>;
    const get = (path: string, headers: Record<string, string> = {}) =>
      app.request(`${origin}${path}`, { headers });
    const bearer = { authorization: `Bearer ${operatorToken}` };

    before(async () => {
      database = await kind.openPrivate();
      seeded = await seedRunHistory(database.database.db, secret);
      app = createHistoryApp({
        db: database.database.db,
        tokenSecret: secret,
        historyToken: operatorToken,
        logger: createLogger("silent"),
      });
    });
    after(async () => {
      await database?.drop();
    });

    it("refuses every page without the operators' token, showing no run", async () => {
      for (const path of ["/history", "/history/totals", `/history/runs/${seeded.finished}`]) {
        const attempts: Record<string, string>[] = [
          {},
          { authorization: "Bearer not-the-token" },
          { authorization: `Basic ${Buffer.from(`x:${operatorToken}`).toString("base64")}` },
          { authorization: `Bearer ${operatorToken}x` },
          { cookie: `airlock_history_session=${operatorToken}` },
        ];
        for (const headers of attempts) {
          const res = await get(path, headers);
          assert.equal(res.status, 401, `${path} with ${JSON.stringify(headers)}`);
          assert.match(res.headers.get("www-authenticate") ?? "", /^Bearer /);
          const body = await res.text();
          assert.match(body, /<label for="token">Operator token<\/label>/);
          // The requested path comes back in the form's `next` field; nothing read from the database does.
          assert.doesNotMatch(
            body,
            /octo-org|data-run-id|Audit chain|Tokens/,
            "nothing about a run on the refusal",
          );
        }
      }
    });

    it("lets the operators' token in as a Bearer header", async () => {
      const res = await get("/history", bearer);
      assert.equal(res.status, 200);
      const body = await res.text();
      assert.match(body, new RegExp(`href="/history/runs/${seeded.queued.at(-1) ?? "?"}"`));
      assert.equal(res.headers.get("cache-control"), "no-store");
      assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'/);
      assert.doesNotMatch(body, /<script/i, "no script on the page, and the hostile repository is escaped");
      assert.match(body, /octo-org\/&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
    });

    it("signs a browser in with the form: a session cookie that is not the token, refused when wrong", async () => {
      const form = (
        token: string,
        headers: Record<string, string> = { origin },
        next = `/history/runs/${seeded.failed}`,
      ) =>
        app.request(`${origin}/history/sign-in`, {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded", ...headers },
          body: new URLSearchParams({ token, next }).toString(),
        });
      const wrong = await form("guess-0123456789abcdef0123456789abcdef");
      assert.equal(wrong.status, 401);
      assert.equal(wrong.headers.get("set-cookie"), null);
      assert.match(await wrong.text(), /That is not the operators&#39; token\./);

      const crossSite = await form(operatorToken, { origin: "http://evil.test" });
      assert.equal(crossSite.status, 403, "a form posted from another site is refused");
      assert.equal(crossSite.headers.get("set-cookie"), null);

      const right = await form(operatorToken);
      assert.equal(right.status, 303);
      assert.equal(right.headers.get("location"), `/history/runs/${seeded.failed}`);
      for (const elsewhere of [
        "//evil.test/x",
        "https://evil.test/history",
        "/history/../..//evil.test",
        "/history\\@evil.test",
      ]) {
        const sent = await form(operatorToken, { origin }, elsewhere);
        assert.equal(sent.headers.get("location"), "/history", `${elsewhere} is not followed`);
      }
      const cookie = right.headers.get("set-cookie") ?? "";
      assert.match(cookie, /HttpOnly/);
      assert.match(cookie, /SameSite=Strict/);
      assert.match(cookie, /Path=\/history/);
      assert.ok(!cookie.includes(operatorToken), "the cookie does not carry the token itself");
      const session = cookie.split(";")[0] ?? "";
      const page = await get(`/history/runs/${seeded.failed}`, { cookie: session });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /upstream 502/);
    });

    it("serves the stylesheet and the sign-in form to anyone, and nothing else", async () => {
      assert.equal((await get("/history/style.css")).status, 200);
      assert.equal((await get("/history/sign-in")).status, 200);
    });

    it("answers a bad filter, a malformed id and an unknown run with what was wrong", async () => {
      const badState = await get("/history?state=exploded", bearer);
      assert.equal(badState.status, 400);
      assert.match(await badState.text(), /state must be one of queued, preparing/);
      const badPage = await get("/history?page=0", bearer);
      assert.equal(badPage.status, 400);
      assert.match(await badPage.text(), /pages start at 1/);
      assert.equal((await get("/history/runs/Bad.Id", bearer)).status, 400);
      const unknown = await get("/history/runs/rnothere", bearer);
      assert.equal(unknown.status, 404);
      assert.match(await unknown.text(), /No run has the id rnothere\./);
    });

    it("says a tampered ledger does not verify, naming the entry", async () => {
      const body = await (await get(`/history/runs/${seeded.tampered}`, bearer)).text();
      assert.match(body, /Audit chain does not verify: entry \d+: hash mismatch/);
      const good = await (await get(`/history/runs/${seeded.finished}`, bearer)).text();
      assert.match(good, /Audit chain verifies: \d+ entries/);
    });
  });
}

describe("AIRLOCK_HISTORY_TOKEN where no page is served", () => {
  it("is refused by `airlock runner` alone, saying which commands serve the page", async () => {
    const { code, err } = await runCli(["runner"], {
      AIRLOCK_LOG_LEVEL: "silent",
      AIRLOCK_HISTORY_TOKEN: operatorToken,
    });
    assert.equal(code, 2);
    assert.match(err, /AIRLOCK_HISTORY_TOKEN is set, but `airlock runner` serves no run-history page/);
    assert.ok(!err.includes(operatorToken), "the token is not echoed");
  });
});
