import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { and, asc, count, desc, eq } from "drizzle-orm";
import { chromium, type Browser, type Page } from "playwright-core";
import { formatUsd } from "../../app/history/format-usd.ts";
import { verifyAuditChain } from "../../core/audit/verify-audit-chain.ts";
import { auditEvents, capabilityRequests, llmCalls, runEvents, runs } from "../../core/db/schema.ts";
import { sumRunUsage } from "../../core/db/runs.ts";
import { generateAppKeys } from "../helpers/generate-app-keys.ts";
import { createScratchDatabase, type ScratchDatabase } from "../helpers/scratch-database.ts";
import { startAirlockProcess, type AirlockProcess } from "../e2e/start-airlock-process.ts";
import { seedRunHistory, type SeededHistory } from "./seed-run-history.ts";

/**
 * The run-history page in a real browser (issue 13 §2): Debian's Chromium, driven by
 * playwright-core, against the real `airlock app` process on Postgres. Every figure the
 * page shows is checked against the database. Screenshots go to test-output/history/
 * (git-ignored) so a person can look at what was tested.
 */

const chromiumPath = "/usr/bin/chromium";
const pgUrl = process.env.TEST_DATABASE_URL;
if (!pgUrl && process.env.CI)
  throw new Error("CI is set but TEST_DATABASE_URL is not: run the tests through .ci/run");
const skip = !existsSync(chromiumPath)
  ? `no Chromium at ${chromiumPath}: install Debian's (apt-get install chromium; scripts/start-services.sh does)`
  : !pgUrl
    ? "TEST_DATABASE_URL is not set (scripts/start-services.sh prints one)"
    : undefined;

const screenshots = fileURLToPath(new URL("../../test-output/history/", import.meta.url));
const tokenSecret = "history-browser-secret-0123456789abcdef012345";
const operatorToken = "history-browser-operator-token-0123456789abcdef";

describe("the run-history page in Chromium, against `airlock app` and Postgres", { skip }, () => {
  let scratch: ScratchDatabase;
  let seeded: SeededHistory;
  let app: AirlockProcess;
  let browser: Browser;
  let page: Page;
  const keys = generateAppKeys();
  const appEnv = (extra: Record<string, string>) => ({
    APP_ID: "4242",
    PRIVATE_KEY: keys.privateKey,
    WEBHOOK_SECRET: "history-webhook-secret-0123456789",
    AIRLOCK_TOKEN_SECRET: tokenSecret,
    // Nothing here calls GitHub: a closed port, so a call would fail loudly.
    GITHUB_API_URL: "http://127.0.0.1:9",
    PORT: "0",
    HOST: "127.0.0.1",
    NODE_ENV: "production",
    AIRLOCK_LOG_LEVEL: "warn",
    ...extra,
  });
  const db = () => scratch.database.db;
  const shoot = (name: string) => page.screenshot({ path: `${screenshots}${name}.png`, fullPage: true });
  const rowIds = () =>
    page.locator("#runs tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("data-run-id")));

  before(async () => {
    await mkdir(screenshots, { recursive: true });
    scratch = await createScratchDatabase(pgUrl!);
    seeded = await seedRunHistory(db(), tokenSecret);
    app = await startAirlockProcess(
      "app",
      appEnv({ DATABASE_URL: scratch.url, AIRLOCK_HISTORY_TOKEN: operatorToken }),
    );
    assert.match(app.ready, /run history: \/history/);
    browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  });
  after(async () => {
    await browser?.close();
    await app?.stop();
    await scratch?.drop();
  });

  it("refuses a visitor without the token and signs an operator in from the keyboard", async () => {
    const refused = await page.goto(`${app.url}/history`);
    assert.equal(refused?.status(), 401);
    assert.equal(await page.locator("h1").textContent(), "Sign in");
    assert.equal(await page.locator("#runs").count(), 0, "no run is listed before sign-in");
    await shoot("1-sign-in");

    // The first Tab reaches the skip link; the token field is found by its label.
    await page.keyboard.press("Tab");
    assert.equal(await page.locator(":focus").textContent(), "Skip to content");
    await page.getByLabel("Operator token").focus();
    await page.keyboard.type("not-the-token-0123456789abcdef0123456789");
    await page.keyboard.press("Enter");
    await page.waitForURL(/\/history\/sign-in$/);
    assert.match((await page.getByRole("alert").textContent()) ?? "", /That is not the operators' token\./);

    await page.getByLabel("Operator token").fill(operatorToken);
    await page.keyboard.press("Enter");
    await page.waitForURL(`${app.url}/history`);
    assert.equal(await page.locator("h1").textContent(), "Runs");
  });

  it("lists the newest runs as the database has them, with their figures", async () => {
    const [total] = await db().select({ n: count() }).from(runs);
    const expected = await db()
      .select({ id: runs.id })
      .from(runs)
      .orderBy(desc(runs.createdAt), desc(runs.id))
      .limit(25);
    assert.deepEqual(
      await rowIds(),
      expected.map((r) => r.id),
    );
    assert.equal((await page.locator("#run-count").textContent())?.trim(), `Runs 1–25 of ${total?.n}.`);
    await shoot("2-runs");

    await page.getByRole("link", { name: "Older runs" }).click();
    await page.waitForURL(/page=2/);
    const rest = await db()
      .select({ id: runs.id })
      .from(runs)
      .orderBy(desc(runs.createdAt), desc(runs.id))
      .offset(25);
    assert.deepEqual(
      await rowIds(),
      rest.map((r) => r.id),
    );
  });

  it("filters by repository and state, and the rows match the database's", async () => {
    await page.goto(`${app.url}/history`);
    await page.getByLabel("Repository").selectOption("octo-org/alpha");
    await page.getByLabel("State").selectOption("succeeded");
    await page.getByRole("button", { name: "Filter" }).click();
    await page.waitForURL(/repo=octo-org%2Falpha&state=succeeded/);
    const expected = await db()
      .select({ id: runs.id })
      .from(runs)
      .where(and(eq(runs.repo, "octo-org/alpha"), eq(runs.state, "succeeded")))
      .orderBy(desc(runs.createdAt));
    assert.deepEqual(
      await rowIds(),
      expected.map((r) => r.id),
    );
    assert.deepEqual(await rowIds(), [seeded.finished]);
    const cells = await page.locator(`tr[data-run-id="${seeded.finished}"] td`).allTextContents();
    const usage = (await sumRunUsage(db(), seeded.finished)).total;
    assert.equal(cells[1], "octo-org/alpha");
    assert.equal(cells[4], "succeeded");
    assert.equal(cells[5], `${usage.inputTokens} / ${usage.outputTokens}`);
    assert.equal(cells[6], formatUsd(usage.costUsd));
    assert.equal(cells[7], "12 min 34 s", "finished 754 s after it was recorded");
    assert.equal(
      await page.locator(`tr[data-run-id="${seeded.finished}"] td a[href$="/pull/31"]`).getAttribute("href"),
      "https://github.com/octo-org/alpha/pull/31",
    );
    await shoot("3-filtered");
  });

  it("opens a run: timeline, approver, image, every call, files, and a ledger verified now", async () => {
    await page.getByRole("link", { name: seeded.finished, exact: true }).click();
    await page.waitForURL(`${app.url}/history/runs/${seeded.finished}`);
    const id = seeded.finished;
    const [run] = await db().select().from(runs).where(eq(runs.id, id));
    assert.equal(await page.locator("#run-state").textContent(), run?.state);

    const usage = (await sumRunUsage(db(), id)).total;
    assert.equal(
      await page.locator("#run-tokens").textContent(),
      `${usage.inputTokens} / ${usage.outputTokens}`,
    );
    assert.equal(await page.locator("#run-cost").textContent(), formatUsd(usage.costUsd));

    const calls = await db()
      .select({ id: llmCalls.id })
      .from(llmCalls)
      .where(eq(llmCalls.runId, id))
      .orderBy(asc(llmCalls.id));
    assert.deepEqual(
      await page
        .locator("#calls tbody tr")
        .evaluateAll((rows) => rows.map((r) => Number(r.getAttribute("data-call-id")))),
      calls.map((c) => c.id),
    );

    const events = await db()
      .select({ type: runEvents.type })
      .from(runEvents)
      .where(eq(runEvents.runId, id))
      .orderBy(asc(runEvents.id));
    const timeline = await page.locator("#timeline tbody tr td:nth-child(2)").allTextContents();
    assert.deepEqual(
      timeline.filter((event) => !event.startsWith("capability.") && event !== "image.ready"),
      events.map((e) => e.type),
      "every run event, in order",
    );
    const times = await page.locator("#timeline tbody tr td:nth-child(1)").allTextContents();
    assert.deepEqual(times, times.toSorted(), "oldest first");

    const [request] = await db().select().from(capabilityRequests).where(eq(capabilityRequests.runId, id));
    assert.match(
      (await page.locator('#timeline tr[data-event="capability.decided"] td:nth-child(3)').textContent()) ??
        "",
      new RegExp(`^npm:left-pad@1\\.3\\.0 ${request?.state} by ${request?.decidedBy}$`),
    );
    assert.equal(await page.locator('#timeline tr[data-event="capability.requested"]').count(), 1);
    const capability = await page.locator("#capabilities tbody tr").allTextContents();
    assert.equal(capability.length, 1);
    assert.match(
      capability[0] ?? "",
      new RegExp(`npm:left-pad@1\\.3\\.0[\\s\\S]*${request?.state}[\\s\\S]*${request?.decidedBy}`),
    );
    assert.equal(request?.decidedBy, seeded.approver);

    const image = await db()
      .select({ data: auditEvents.data })
      .from(auditEvents)
      .where(and(eq(auditEvents.runId, id), eq(auditEvents.type, "image.ready")));
    assert.ok(image[0]);
    assert.match(
      (await page.locator("#run-image").textContent()) ?? "",
      new RegExp(String(image[0].data.id)),
    );
    assert.match(
      (await page.locator('#timeline tr[data-event="image.ready"]').textContent()) ?? "",
      new RegExp(String(image[0].data.id)),
    );

    assert.deepEqual(await page.locator("#files-changed tbody td:first-child").allTextContents(), [
      "src/pad.ts",
      "test/pad.test.ts",
    ]);
    assert.deepEqual(await page.locator("#files-held-back tbody td:first-child").allTextContents(), [
      ".github/workflows/ci.yml",
    ]);

    const verified = await verifyAuditChain(db(), id, tokenSecret);
    assert.ok(verified.ok);
    assert.match(
      (await page.locator("#audit-verdict").textContent()) ?? "",
      new RegExp(`Audit chain verifies: ${verified.count} entries, head ${verified.head}`),
    );
    await shoot("4-run");
  });

  it("shows a ledger changed behind Airlock's back as broken, at the entry the verifier names", async () => {
    await page.goto(`${app.url}/history/runs/${seeded.tampered}`);
    const verdict = await verifyAuditChain(db(), seeded.tampered, tokenSecret);
    assert.equal(verdict.ok, false);
    assert.ok(!verdict.ok);
    assert.match(
      (await page.locator("#audit-verdict").textContent()) ?? "",
      new RegExp(`does not verify: entry ${verdict.position}: hash mismatch`),
    );
    assert.equal(await page.locator("#audit-verdict").getAttribute("role"), "alert");
    await shoot("5-run-tampered");
  });

  it("sums runs, tokens and cost per repository and per day as the database does", async () => {
    await page.getByRole("link", { name: "Totals" }).click();
    await page.waitForURL(`${app.url}/history/totals`);
    const perRepo = await db().select({ repo: runs.repo, n: count() }).from(runs).groupBy(runs.repo);
    const names = await page.locator("#totals-by-repo tbody tr th").allTextContents();
    const counts = await page.locator("#totals-by-repo tbody tr td:nth-of-type(1)").allTextContents();
    assert.deepEqual(
      new Map(names.map((name, i) => [name.trim(), counts[i]])),
      new Map(perRepo.map((r) => [r.repo ?? "no repository (local and manual runs)", String(r.n)])),
    );
    const alpha = await page
      .locator("#totals-by-repo tbody tr", { hasText: "octo-org/alpha" })
      .locator("td")
      .allTextContents();
    const alphaUsage = await Promise.all([seeded.finished, seeded.failed].map((r) => sumRunUsage(db(), r)));
    const tokensIn = alphaUsage.reduce((sum, u) => sum + u.total.inputTokens, 0);
    const tokensOut = alphaUsage.reduce((sum, u) => sum + u.total.outputTokens, 0);
    assert.deepEqual(alpha.slice(0, 5), ["2", "1", "1", "4", `${tokensIn} / ${tokensOut}`]);
    const days = await page.locator("#totals-by-day tbody tr").count();
    assert.ok(days >= 2, `runs on several days are summed per day (${days} rows)`);
    await shoot("6-totals");
  });

  it("keeps text at WCAG AA contrast and shows where keyboard focus is", async () => {
    await page.goto(`${app.url}/history?repo=octo-org%2Falpha`);
    // Computed colours of every kind of text the pages use, read in the page (no script of
    // the page's own: the CSP forbids any; this runs through the DevTools protocol).
    const samples = (await page.evaluate(`(() => {
      const pick = (selector) => {
        const el = document.querySelector(selector);
        if (!el) return [selector, null, null];
        let bg = "rgba(0, 0, 0, 0)";
        for (let node = el; node && /rgba\\(0, 0, 0, 0\\)|transparent/.test(bg); node = node.parentElement) {
          bg = getComputedStyle(node).backgroundColor;
        }
        return [selector, getComputedStyle(el).color, bg];
      };
      return ["h1", "td", "th", "a", "label", ".state-succeeded", ".state-failed", "button", "#run-count"].map(pick);
    })()`)) as [string, string | null, string | null][];
    const luminance = (rgb: string) => {
      const [r = 0, g = 0, b = 0] = (rgb.match(/\d+(\.\d+)?/g) ?? []).map(Number).map((v) => {
        const c = v / 255;
        return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      });
      return 0.2126 * r + 0.7152 * g + 0.0722 * b;
    };
    for (const [selector, color, background] of samples) {
      assert.ok(color !== null && background !== null, `${selector} is on the page`);
      const [light, dark] = [luminance(color), luminance(background)].sort((a, b) => b - a);
      const ratio = (light! + 0.05) / (dark! + 0.05);
      assert.ok(ratio >= 4.5, `${selector}: ${color} on ${background} is ${ratio.toFixed(2)}:1, under 4.5:1`);
    }

    // Every control is reachable with Tab, each with a visible outline when focused; past the
    // last one focus leaves the page (the body again).
    const reached: string[] = [];
    for (let i = 0; i < 20; i += 1) {
      await page.keyboard.press("Tab");
      const focused = (await page.evaluate(
        `(() => { const el = document.activeElement; const s = getComputedStyle(el); return [el.tagName, el.id || el.textContent.trim().slice(0, 40), s.outlineStyle, s.outlineWidth]; })()`,
      )) as [string, string, string, string];
      if (focused[0] === "BODY") break;
      assert.equal(`${focused[2]} ${focused[3]}`, "solid 3px", `${focused[1]} shows its focus`);
      reached.push(focused[1]);
    }
    for (const control of ["Skip to content", "filter-repo", "filter-state", "Filter", seeded.finished]) {
      assert.ok(reached.includes(control), `Tab reaches ${control} (reached: ${reached.join(", ")})`);
    }
  });

  it("signs out, after which the pages refuse again", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL(/\/history\/sign-in$/);
    const again = await page.goto(`${app.url}/history`);
    assert.equal(again?.status(), 401);
  });

  it("takes the token as a Bearer header from scripts, and refuses a wrong one", async () => {
    const ok = await fetch(`${app.url}/history/totals`, {
      headers: { authorization: `Bearer ${operatorToken}` },
    });
    assert.equal(ok.status, 200);
    const wrong = await fetch(`${app.url}/history/totals`, { headers: { authorization: "Bearer nope" } });
    assert.equal(wrong.status, 401);
    assert.doesNotMatch(await wrong.text(), /octo-org/);
  });

  it("is not served at all when AIRLOCK_HISTORY_TOKEN is unset", async () => {
    const off = await startAirlockProcess("app", appEnv({ DATABASE_URL: scratch.url }));
    try {
      assert.doesNotMatch(off.ready, /run history/);
      for (const path of ["/history", "/history/sign-in", `/history/runs/${seeded.finished}`]) {
        const res = await fetch(`${off.url}${path}`, {
          headers: { authorization: `Bearer ${operatorToken}` },
        });
        assert.equal(res.status, 404, path);
        assert.doesNotMatch(await res.text(), /octo-org|Sign in/);
      }
      assert.equal((await fetch(`${off.url}/healthz`)).status, 200, "the app itself is up");
    } finally {
      await off.stop();
    }
  });
});
