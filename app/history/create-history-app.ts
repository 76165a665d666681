import { Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { deleteCookie, setCookie } from "hono/cookie";
import { csrf } from "hono/csrf";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import { z } from "zod";
import {
  listRunHistory,
  listRunRepos,
  sumRunTotalsByDay,
  sumRunTotalsByRepo,
} from "../../core/db/run-history.ts";
import type { Db } from "../../core/db/open-database.ts";
import { runIdPattern } from "../../core/ids.ts";
import type { Logger } from "../../core/logger.ts";
import { chooseReturnPath } from "./choose-return-path.ts";
import { deriveOperatorSession, operatorSessionCookie } from "./derive-operator-session.ts";
import { historyBasePath } from "./history-html.ts";
import { historyStyle } from "./history-style.ts";
import { isOperatorToken } from "./is-operator-token.ts";
import { loadRunDetail } from "./load-run-detail.ts";
import { parseHistoryQuery } from "./parse-history-query.ts";
import { renderHistoryProblem } from "./render-history-problem.ts";
import { renderRunDetail } from "./render-run-detail.ts";
import { renderRunList } from "./render-run-list.ts";
import { renderRunTotals } from "./render-run-totals.ts";
import { renderSignIn } from "./render-sign-in.ts";
import { requireOperator } from "./require-operator.ts";

export interface HistoryAppDeps {
  db: Db;
  /** AIRLOCK_TOKEN_SECRET: the run pages verify each ledger with it. */
  tokenSecret: string;
  /** AIRLOCK_HISTORY_TOKEN: the operators' token. */
  historyToken: string;
  logger: Logger;
  pageSize?: number;
  /** Days shown in the per-day totals (default 30). */
  days?: number;
  now?: () => Date;
}

const signInForm = z.object({
  token: z.string().max(1024),
  next: z.string().max(2048).optional(),
});

/**
 * The run-history pages (issue 13 §2), served by the app under /history: the list of runs,
 * one run, and totals. Server-rendered HTML with no script (the CSP forbids any), so they
 * work in any browser and from the keyboard. Every page but the sign-in form and its
 * stylesheet is for operators only (requireOperator).
 */
export function createHistoryApp(deps: HistoryAppDeps): Hono {
  const pageSize = deps.pageSize ?? 25;
  const days = deps.days ?? 30;
  const now = deps.now ?? (() => new Date());
  const log = deps.logger.child({ component: "history" });
  const operator = requireOperator(deps.historyToken);
  const app = new Hono().basePath(historyBasePath);

  app.use(
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
      referrerPolicy: "no-referrer",
    }),
  );
  // Run pages are never cached: a shared proxy must not keep them, and a verdict is live.
  app.use(async (c, next) => {
    await next();
    c.header("Cache-Control", "no-store");
  });
  // Form posts must come from the page itself (Origin checked), so another site cannot sign a browser in or out.
  app.use(csrf());

  app.get("/style.css", (c) => c.body(historyStyle, 200, { "content-type": "text/css; charset=utf-8" }));

  app.get("/sign-in", (c) => c.html(renderSignIn({ next: c.req.query("next") })));

  app.post(
    "/sign-in",
    bodyLimit({
      maxSize: 8 * 1024,
      onError: (c) => c.html(renderSignIn({ problem: "The form was too large." }), 413),
    }),
    async (c) => {
      const form = signInForm.safeParse(await c.req.parseBody());
      const next = chooseReturnPath(form.success ? form.data.next : undefined);
      if (!form.success || !isOperatorToken(form.data.token, deps.historyToken)) {
        log.warn("run-history sign-in refused: not the operators' token");
        return c.html(renderSignIn({ problem: "That is not the operators' token.", next }), 401);
      }
      setCookie(c, operatorSessionCookie, deriveOperatorSession(deps.historyToken), {
        path: historyBasePath,
        httpOnly: true,
        sameSite: "Strict",
        secure: new URL(c.req.url).protocol === "https:" || c.req.header("x-forwarded-proto") === "https",
      });
      log.info("run-history sign-in");
      return c.redirect(next, 303);
    },
  );

  app.post("/sign-out", (c) => {
    deleteCookie(c, operatorSessionCookie, { path: historyBasePath });
    return c.redirect(`${historyBasePath}/sign-in`, 303);
  });

  app.get("/", operator, async (c) => {
    const parsed = parseHistoryQuery(c.req.query());
    if (!parsed.ok) return c.html(renderHistoryProblem("Bad filter", parsed.problem), 400);
    const { query } = parsed;
    const [page, repos] = await Promise.all([
      listRunHistory(deps.db, { ...query, pageSize }),
      listRunRepos(deps.db),
    ]);
    return c.html(renderRunList({ query, page, pageSize, repos, now: now() }));
  });

  app.get("/runs/:id", operator, async (c) => {
    const id = c.req.param("id");
    if (!runIdPattern.test(id)) {
      return c.html(
        renderHistoryProblem("Not a run id", "Run ids are lowercase letters, digits, - and _."),
        400,
      );
    }
    const detail = await loadRunDetail(deps.db, id, deps.tokenSecret);
    if (detail === undefined) {
      return c.html(renderHistoryProblem("Unknown run", `No run has the id ${id}.`), 404);
    }
    return c.html(renderRunDetail(detail, now()));
  });

  app.get("/totals", operator, async (c) => {
    const [byRepo, byDay] = await Promise.all([
      sumRunTotalsByRepo(deps.db),
      sumRunTotalsByDay(deps.db, { days }),
    ]);
    return c.html(renderRunTotals({ byRepo, byDay, days }));
  });

  app.notFound((c) => c.html(renderHistoryProblem("Not found", `Nothing is served at ${c.req.path}.`), 404));
  app.onError((error, c) => {
    if (error instanceof HTTPException && error.status === 403) {
      // hono's csrf check: a form posted from another origin.
      return c.html(
        renderHistoryProblem("Refused", "Forms on this page are accepted only from the page itself."),
        403,
      );
    }
    log.error({ err: error.message, path: c.req.path }, "run-history page failed");
    return c.html(
      renderHistoryProblem("Something failed", "The page could not be made; the app's log says why."),
      500,
    );
  });
  return app;
}
