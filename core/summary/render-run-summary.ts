import { findLastAuditData } from "../audit/find-last-audit-data.ts";
import type { CapabilityRequest, LlmCall } from "../db/schema.ts";
import { escapeMarkdown, escapeTableCell, formatCode, quoteUntrustedMarkdown } from "./escape-markdown.ts";
import type { RunSummaryFacts } from "./load-run-summary-facts.ts";
import { renderEgressSummary } from "./render-egress-summary.ts";
import { sumRunFigures } from "./sum-run-figures.ts";
import { summarizeEgress } from "./summarize-egress.ts";
import type { SegmentPhases } from "./summarize-run-phases.ts";

/**
 * The audit summary of a run (DESIGN §8) as markdown: printed by `airlock run`, and the body
 * the pull request will carry. Every figure comes from the stored rows (llm_calls,
 * audit_events, runs); the chain head is the hash of the last ledger entry at render time.
 */
export function renderRunSummary(facts: RunSummaryFacts): string {
  const { run, calls, audit } = facts;
  const figures = sumRunFigures(calls);
  const image = findLastAuditData(audit, "image.ready");
  const exit = findLastAuditData(audit, "sandbox.exit");
  const committed = findLastAuditData(audit, "relay.committed");
  const pushed = findLastAuditData(audit, "relay.pushed");
  const relayNote = findLastAuditData(audit, "relay.skipped") ?? findLastAuditData(audit, "relay.failed");
  const agentSummary = findLastAuditData(audit, "agent.summary")?.text;
  const egress = renderEgressSummary(summarizeEgress(audit));
  const head = audit.at(-1)?.hash;
  const outcome = run.state;
  const partial =
    outcome === "budget_exhausted" ||
    outcome === "timed_out" ||
    outcome === "failed" ||
    outcome === "disk_limit";

  const lines: string[] = [];
  lines.push(`## Airlock run \`${run.id}\`: ${outcome}`, "");
  if (partial && committed?.commit) {
    lines.push(
      `> **Partial result.** The run ended ${outcome} (${escapeMarkdown(run.outcomeReason ?? "no reason recorded")}) before the agent finished; the branch holds the files as the agent left them. Review it as unfinished work.`,
      "",
    );
  }
  const row = (name: string, value: string) => lines.push(`| ${name} | ${escapeTableCell(value)} |`);
  lines.push("| | |", "| --- | --- |");
  row("Outcome", `**${outcome}**: ${escapeMarkdown(run.outcomeReason ?? "")}`);
  row(
    "Agent",
    `${formatCode(run.agent ?? "?")}` +
      (image?.id ? `, image ${formatCode(image.ref ?? "")} (${formatCode(image.id)})` : ""),
  );
  if (run.repo) row("Repository", escapeMarkdown(run.repo));
  row(
    "Models",
    figures.models.length === 0
      ? `none called (asked for ${formatCode(run.model ?? "?")})`
      : figures.models.map((m) => `${formatCode(m.model)} (${m.calls})`).join(", "),
  );
  row(
    "LLM calls",
    `${figures.calls}` + (figures.failedCalls > 0 ? ` (${figures.failedCalls} refused or failed)` : ""),
  );
  row(
    "Tokens",
    `${count(figures.inputTokens)} in / ${count(figures.outputTokens)} out` +
      ` (cache: ${count(figures.cacheReadTokens)} read, ${count(figures.cacheCreationTokens)} written)`,
  );
  row(
    "Cost",
    `$${figures.costUsd}` +
      (figures.unpricedModels.length > 0
        ? ` **plus unpriced calls** to ${figures.unpricedModels.map((m) => `${formatCode(m)}`).join(", ")} (tokens metered, no price known)`
        : ""),
  );
  if (run.budgetUsd !== null || run.budgetTokens !== null) {
    row(
      "Budget",
      [
        run.budgetUsd !== null ? `$${run.budgetUsd}` : "",
        run.budgetTokens !== null ? `${count(run.budgetTokens)} tokens` : "",
      ]
        .filter(Boolean)
        .join(", "),
    );
  }
  row(
    "Duration",
    // From the run's record to its final state: preparing, the agent and publishing.
    `${seconds(run.createdAt, run.finishedAt)}` +
      (exit?.durationMs !== undefined
        ? ` (agent ${(exit.durationMs / 1000).toFixed(1)} s, ended: ${escapeMarkdown(exit.reason ?? "?")}, exit code ${String(exit.exitCode ?? "none")})`
        : "") +
      describePhases(facts.phases ?? []),
  );
  row(
    "Branch",
    pushed?.branch
      ? `${formatCode(pushed.branch)} at ${formatCode(pushed.commit ?? "")}`
      : committed?.commit
        ? `${formatCode(committed.branch ?? "")} at ${formatCode(committed.commit)} (not pushed)`
        : `none${relayNote?.reason ? `: ${escapeMarkdown(relayNote.reason)}` : ""}`,
  );
  const grants = image?.grants ?? [];
  const requests = facts.capabilities ?? [];
  row(
    "Capabilities",
    requests.length > 0
      ? `${describeRequestCounts(requests)} (listed below)`
      : grants.length > 0
        ? `granted by ${escapeMarkdown(image?.grantedBy ?? "?")}: ${grants.map((g) => formatCode(formatGrant(g))).join(", ")}`
        : "none requested",
  );
  row("Egress", egress.row);
  row(
    "Audit chain",
    head
      ? `\`${head}\` (${audit.length} entries; check with \`airlock audit verify ${run.id}\`)`
      : "no entries",
  );
  lines.push("");

  const changed = committed?.filesChanged ?? [];
  lines.push(`### Files changed (${changed.length})`, "");
  if (changed.length === 0) lines.push("None.");
  for (const f of changed) lines.push(`- ${formatCode(f.path)} (${escapeMarkdown(f.change)})`);
  lines.push("");
  const heldBack = committed?.heldBack ?? [];
  const refused = committed?.refused ?? [];
  const refusedOmitted = committed?.refusedOmitted ?? 0;
  lines.push(`### Held back or refused (${heldBack.length + refused.length + refusedOmitted})`, "");
  if (heldBack.length + refused.length + refusedOmitted === 0) lines.push("Nothing.");
  for (const h of heldBack) lines.push(`- held back: ${formatCode(h.path)}: ${escapeMarkdown(h.reason)}`);
  for (const r of refused) lines.push(`- refused: ${formatCode(r.path)}: ${escapeMarkdown(r.reason)}`);
  if (refusedOmitted > 0) lines.push(`- and ${refusedOmitted} more refused paths, not listed`);
  lines.push("");

  if (requests.length > 0) {
    lines.push(`### Capabilities (${requests.length})`, "");
    for (const r of requests) lines.push(describeRequest(r));
    lines.push("");
  }

  lines.push(...egress.section);

  const sbom = image?.sbomDelta;
  if (sbom) {
    const added = [
      ...sbom.dpkg.map((p) => `- dpkg ${formatCode(p.name)} ${escapeMarkdown(p.version)}`),
      ...sbom.npm.map(
        (p) =>
          `- npm ${formatCode(p.name)} ${escapeMarkdown(p.version)}${p.license ? ` (${escapeMarkdown(p.license)})` : ""}` +
          (p.hasInstallScript ? " (declares an install script, not run)" : ""),
      ),
      ...sbom.pip.map((p) => `- pip ${formatCode(p.name)} ${escapeMarkdown(p.version)}`),
    ];
    lines.push(`### Packages added to the image (${added.length})`, "");
    lines.push(...(added.length > 0 ? added : ["None."]), "");
  }

  if (agentSummary) {
    lines.push(
      "### The agent's summary (its own words, unverified)",
      "",
      quoteUntrustedMarkdown(agentSummary),
      "",
    );
  }

  lines.push(`<details><summary>Per-call log (${calls.length} LLM calls)</summary>`, "");
  if (calls.length > 0) {
    lines.push(
      "| # | call | model | status | in | out | cache read | cache write | cost USD | ms | note |",
      "| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |",
    );
    calls.forEach((call, i) => lines.push(callRow(i + 1, call)));
  } else {
    lines.push("No LLM calls.");
  }
  lines.push("", "</details>", "");
  return lines.join("\n");
}

function describeRequestCounts(requests: readonly CapabilityRequest[]): string {
  const counts = new Map<string, number>();
  for (const r of requests) counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  return [...counts].map(([state, n]) => `${n} ${state.replace("_", " ")}`).join(", ");
}

/** One request: what, the decision, who and when, and why (the agent's reason and the decider's are their own words). */
function describeRequest(r: CapabilityRequest): string {
  const what = formatCode(formatGrant({ kind: r.kind, name: r.name, version: r.version ?? undefined }));
  const when = r.decidedAt ? ` at ${r.decidedAt.toISOString().replace(/\.\d{3}Z$/, "Z")}` : "";
  const by = r.decidedBy ? ` by ${formatCode(r.decidedBy)}${when}` : "";
  const why = r.decisionReason ? `: ${escapeMarkdown(r.decisionReason)}` : "";
  return `- ${what}: **${r.state.replace("_", " ")}**${by}${why} (asked: ${escapeMarkdown(r.reason)})`;
}

function formatGrant(grant: { kind: string; name: string; version?: string | undefined }): string {
  if (grant.version === undefined) return `${grant.kind}:${grant.name}`;
  return `${grant.kind}:${grant.name}${grant.kind === "pip" ? "==" : "@"}${grant.version}`;
}

function callRow(n: number, call: LlmCall): string {
  const note = [
    call.priced ? "" : "unpriced",
    call.stream ? "stream" : "",
    call.clientAborted ? "client aborted" : "",
    call.error ? clip(call.error, 120) : "",
  ]
    .filter(Boolean)
    .join("; ");
  return `| ${n} | ${call.id} | ${escapeTableCell(escapeMarkdown(call.model ?? ""))} | ${call.status} | ${call.inputTokens} | ${call.outputTokens} | ${call.cacheReadTokens} | ${call.cacheCreationTokens} | ${call.costUsd} | ${call.latencyMs} | ${escapeTableCell(escapeMarkdown(note))} |`;
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

function count(n: number): string {
  return n.toLocaleString("en-US");
}

/**
 * Issue 15: where the time went, per segment; the wait for capability decisions stands
 * apart, since it is a maintainer's time, not the run's. Publishing is recorded once the
 * pull request is written, so the body that pull request carries cannot include it.
 */
function describePhases(segments: readonly SegmentPhases[]): string {
  if (segments.length === 0) return "";
  const one = (s: SegmentPhases) =>
    s.phases.map((p) => `${p.phase.replace("_", " ")} ${(p.ms / 1000).toFixed(1)} s`).join(", ");
  const [only] = segments;
  if (segments.length === 1 && only !== undefined && only.waitedMs === undefined)
    return `; phases: ${one(only)}`;
  return segments
    .map(
      (s) =>
        (s.waitedMs === undefined ? "" : `; waited ${(s.waitedMs / 1000).toFixed(1)} s for decisions`) +
        `; segment ${s.segment}: ${one(s)}`,
    )
    .join("");
}

function seconds(from: Date | null, to: Date | null): string {
  if (!from || !to) return "unknown";
  return `${((to.getTime() - from.getTime()) / 1000).toFixed(1)} s`;
}
