import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { and, eq, gt, min } from "drizzle-orm";
import { auditEvents, llmCalls, runEvents, type Run } from "../core/db/schema.ts";
import { isTerminalRunState } from "../core/run-states.ts";
import type { E2eWorld } from "../test/e2e/start-e2e-world.ts";

const run = promisify(execFile);

/** What the chaos benchmark did, as it did it. */
export interface ChaosRecord {
  issues: { number: number; name: string; agent: string; labelledAt: number; cut: boolean }[];
  /**
   * `heldRuns`: the unpublished runs whose lease the process held when it was killed, and how
   * long that lease still ran (no other runner may claim the run before it lapses).
   */
  kills: { victim: string; at: number; heldRuns: { id: string; leaseLeftMs: number }[] }[];
  pgRestart: { at: number; ms: number } | undefined;
  /** Deliveries answered other than 2xx (or not at all), sent again with the same delivery id… */
  redelivered: number;
  /** …and how many tries that took in all. */
  redeliveries: number;
}

export interface ChaosFigures {
  issues: number;
  runs: number;
  outcomes: Record<string, number>;
  failures: { issue: number; runId: string; state: string; reason: string | null }[];
  lost: { issue: number; why: string }[];
  duplicates: { issue: number; what: string; count: number }[];
  otherBotComments: { issue: number; body: string }[];
  unverified: { runId: string; why: string }[];
  verified: number;
  llm: {
    /** Requests the upstream answered on a model route (a cut stream is one). */
    served: number;
    /** Upstream tries the llm_calls rows account for (upstream_attempts of rows not refused by the proxy). */
    recorded: number;
    rows: number;
    cutServed: number;
    /** llm_calls rows of the cut streams: each should be there, with its error. */
    cutRows: { runId: string; status: number; error: string | null; clientAborted: boolean }[];
    mismatches: {
      issue: number;
      served: number;
      recorded: number;
      /** A kill of a process holding the issue's run, or of a runner between its first and last call. */
      killedDuring: boolean;
      calls: string[];
      rows: string[];
    }[];
  };
  /** From a kill to the next ledger or run event of a run the killed process held (ms). */
  pickup: { victim: string; runId: string; ms: number | undefined; leaseLeftMs: number }[];
}

const modelRoutes = new Set(["/v1/chat/completions", "/v1/messages", "/v1/responses"]);
const headPattern = /`([0-9a-f]{64})` \(\d+ entries; check with `airlock audit verify (r[a-z0-9]+)`\)/;

export async function countChaosFigures(
  w: E2eWorld,
  record: ChaosRecord,
  options: { repo: string; deadline: number; bin: string },
): Promise<ChaosFigures> {
  const all = await w.runsOf(options.repo);
  const bot = w.gh.botUser.login;
  const figures: ChaosFigures = {
    issues: record.issues.length,
    runs: all.length,
    outcomes: {},
    failures: [],
    lost: [],
    duplicates: [],
    otherBotComments: [],
    unverified: [],
    verified: 0,
    llm: { served: 0, recorded: 0, rows: 0, cutServed: 0, cutRows: [], mismatches: [] },
    pickup: [],
  };
  const runsByIssue = new Map<number, Run[]>();
  for (const r of all) {
    figures.outcomes[r.state] = (figures.outcomes[r.state] ?? 0) + 1;
    if (r.state !== "succeeded")
      figures.failures.push({ issue: r.issueNumber!, runId: r.id, state: r.state, reason: r.outcomeReason });
    runsByIssue.set(r.issueNumber!, [...(runsByIssue.get(r.issueNumber!) ?? []), r]);
  }

  const heads = new Map<string, string>();
  for (const issue of record.issues) {
    const own = runsByIssue.get(issue.number) ?? [];
    // 1. Lost: no run, or none ended and on GitHub (a PR or a result comment) by the deadline.
    if (own.length === 0) figures.lost.push({ issue: issue.number, why: "no run recorded" });
    else if (!own.some((r) => isTerminalRunState(r.state) && r.publishedAt !== null))
      figures.lost.push({
        issue: issue.number,
        why: `runs ${own.map((r) => `${r.id} ${r.state}${r.publishedAt ? " published" : ""}`).join(", ")}`,
      });
    else if (own.some((r) => r.publishedAt!.getTime() > options.deadline))
      figures.lost.push({ issue: issue.number, why: "published after the deadline" });

    // 2. Duplicates, from the stand-in's records: runs, pull requests, tracking and result comments.
    if (own.length > 1) figures.duplicates.push({ issue: issue.number, what: "runs", count: own.length });
    const pulls = w.gh.state.pulls.filter(
      (p) => p.repo === options.repo && p.head.startsWith(`airlock/${issue.number}-`),
    );
    if (pulls.length > 1)
      figures.duplicates.push({ issue: issue.number, what: "pull requests", count: pulls.length });
    const threads = new Set([issue.number, ...pulls.map((p) => p.number)]);
    const comments = w.gh.state.comments.filter(
      (c) => c.repo === options.repo && threads.has(c.issueNumber) && c.user === bot,
    );
    for (const kind of ["tracking", "result"]) {
      for (const r of own) {
        const mine = comments.filter((c) => c.body.includes(`<!-- airlock:${kind}:${r.id} -->`));
        if (mine.length > 1)
          figures.duplicates.push({ issue: issue.number, what: `${kind} comments`, count: mine.length });
        const head = kind === "result" ? headPattern.exec(mine[0]?.body ?? "") : null;
        if (head && head[2] === r.id) heads.set(r.id, head[1]!);
      }
    }
    for (const c of comments.filter((c) => !/<!-- airlock:(tracking|result):/.test(c.body)))
      figures.otherBotComments.push({ issue: issue.number, body: c.body.slice(0, 200) });
  }

  // 3. The ledger of every run, through the operator's command, with the head its result
  //    comment published as a checkpoint (so entries deleted up to it would show too).
  for (const r of all) {
    const head = heads.get(r.id);
    try {
      await run(process.execPath, [options.bin, "audit", "verify", r.id, ...(head ? ["--head", head] : [])], {
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          DATABASE_URL: w.env.DATABASE_URL,
          AIRLOCK_TOKEN_SECRET: w.env.AIRLOCK_TOKEN_SECRET,
        },
      });
      figures.verified += 1;
    } catch (error) {
      const e = error as { stderr?: string; message: string };
      figures.unverified.push({ runId: r.id, why: (e.stderr || e.message).trim().slice(0, 300) });
    }
  }

  // 4. LLM calls: what the upstream served against what the ledger recorded, per issue.
  const rows = await w.db.select().from(llmCalls);
  const issueOfRun = new Map(all.map((r) => [r.id, r.issueNumber!]));
  const recordedByIssue = new Map<number, number>();
  for (const row of rows) {
    if (row.refusal !== null) continue;
    figures.llm.rows += 1;
    figures.llm.recorded += row.upstreamAttempts;
    const issue = issueOfRun.get(row.runId);
    if (issue !== undefined)
      recordedByIssue.set(issue, (recordedByIssue.get(issue) ?? 0) + row.upstreamAttempts);
  }
  const served = w.upstream.requests.filter((r) => modelRoutes.has(r.path));
  figures.llm.served = served.length;
  const scriptOf = (script: string | undefined) => script?.replace(/\.\d+$/, "");
  for (const issue of record.issues) {
    const mine = served.filter((r) => scriptOf(r.script) === issue.name);
    const recorded = recordedByIssue.get(issue.number) ?? 0;
    if (issue.cut && mine.some((r) => r.script === `${issue.name}.0`)) {
      figures.llm.cutServed += 1;
      const runIds = new Set((runsByIssue.get(issue.number) ?? []).map((r) => r.id));
      const first = rows.filter((row) => runIds.has(row.runId) && row.stream).sort((a, b) => a.id - b.id)[0];
      if (first)
        figures.llm.cutRows.push({
          runId: first.runId,
          status: first.status,
          error: first.error,
          clientAborted: first.clientAborted,
        });
    }
    if (mine.length !== recorded) {
      const ids = new Set((runsByIssue.get(issue.number) ?? []).map((r) => r.id));
      const first = Math.min(...mine.map((r) => r.at));
      const last = Math.max(...mine.map((r) => r.at));
      figures.llm.mismatches.push({
        issue: issue.number,
        served: mine.length,
        recorded,
        killedDuring: record.kills.some(
          (k) =>
            k.heldRuns.some((h) => ids.has(h.id)) || (k.victim !== "app" && k.at >= first && k.at <= last),
        ),
        calls: mine.map((r) => `${new Date(r.at).toISOString()} ${r.script} ${r.status}`),
        rows: rows
          .filter((row) => ids.has(row.runId))
          .map(
            (row) =>
              `${row.startedAt.toISOString()} attempt ${row.attempt} ${row.status}${row.error ? ` ${row.error}` : ""}`,
          ),
      });
    }
  }

  // 5. Pick-up: the first ledger or run event written after the kill, by whoever took the run.
  for (const kill of record.kills) {
    for (const { id: runId, leaseLeftMs } of kill.heldRuns) {
      const after = new Date(kill.at);
      const [audit] = await w.db
        .select({ at: min(auditEvents.at) })
        .from(auditEvents)
        .where(and(eq(auditEvents.runId, runId), gt(auditEvents.at, after)));
      const [event] = await w.db
        .select({ at: min(runEvents.at) })
        .from(runEvents)
        .where(and(eq(runEvents.runId, runId), gt(runEvents.at, after)));
      const times = [audit?.at, event?.at]
        .filter((t): t is Date => t instanceof Date)
        .map((t) => t.getTime());
      figures.pickup.push({
        victim: kill.victim === "app" ? "app" : "runner",
        runId,
        ms: times.length > 0 ? Math.min(...times) - kill.at : undefined,
        leaseLeftMs,
      });
    }
  }
  return figures;
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
};
const seconds = (ms: number | undefined) => (ms === undefined ? "–" : `${(ms / 1000).toFixed(1)} s`);

export function renderChaosTable(
  f: ChaosFigures,
  about: { date: string; total: number; seed: number; load: string; wallS: number; afterLastLabelS: number },
  record?: ChaosRecord,
): string {
  const duplicates = f.duplicates.reduce((n, d) => n + d.count - 1, 0);
  const pick = (victim: string) => {
    const ms = f.pickup.filter((p) => p.victim === victim && p.ms !== undefined).map((p) => p.ms!);
    const lapse = f.pickup.filter((p) => p.victim === victim).map((p) => Math.max(0, p.leaseLeftMs));
    const never = f.pickup.filter((p) => p.victim === victim && p.ms === undefined).length;
    return `${ms.length} runs: p50 ${seconds(percentile(ms, 50))}, max ${seconds(ms.length ? Math.max(...ms) : undefined)} (of which the lease still ran: p50 ${seconds(percentile(lapse, 50))})${never ? `; ${never} never picked up` : ""}`;
  };
  const outcomes = Object.entries(f.outcomes)
    .map(([state, n]) => `${n} ${state}`)
    .join(", ");
  const kills = record
    ? `${record.kills.filter((k) => k.victim !== "app").length} runner kills, ${record.kills.filter((k) => k.victim === "app").length} app kills, Postgres restarted ${record.pgRestart ? `once (${seconds(record.pgRestart.ms)})` : "never"}, ${record.redelivered} webhook deliveries sent again (${record.redeliveries} tries)`
    : "";
  return [
    `chaos: ${about.date} UTC, N = ${about.total} issues, seed ${about.seed}; ${kills}`,
    `load average ${about.load}; ${about.wallS.toFixed(0)} s in all, ${about.afterLastLabelS.toFixed(0)} s after the last label`,
    `runs: ${f.runs} (${outcomes})`,
    "",
    "| figure | goal | measured |",
    "| --- | --- | --- |",
    `| runs lost (no ended run on GitHub by the deadline) | 0 | ${f.lost.length} of ${f.issues} |`,
    `| duplicate runs, PRs, tracking or result comments | 0 | ${duplicates} |`,
    `| runs whose ledger fails \`airlock audit verify\` | 0 | ${f.unverified.length} of ${f.runs} |`,
    `| LLM calls recorded (upstream tries in llm_calls) / served by the upstream | equal | ${f.llm.recorded} / ${f.llm.served} (${f.llm.cutServed} streams cut mid-way, ${f.llm.cutRows.length} of them recorded) |`,
    `| pick-up after a runner kill (kill → next event of a run it held) | – | ${pick("runner")} |`,
    `| pick-up after an app kill | – | ${pick("app")} |`,
  ].join("\n");
}
