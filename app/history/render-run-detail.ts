import { html } from "hono/html";
import { derivePullRequestUrl } from "./derive-pull-request-url.ts";
import { formatDuration } from "./format-duration.ts";
import { formatTime } from "./format-time.ts";
import { formatUsd } from "./format-usd.ts";
import { historyBasePath, type HistoryHtml } from "./history-html.ts";
import type { RunDetail } from "./load-run-detail.ts";
import { renderHistoryLayout } from "./render-history-layout.ts";

/**
 * One run: its facts, whether its ledger verifies, the timeline of its states and
 * capability decisions, the image it ran in, every LLM call, and what the relay committed
 * and held back. Every value from the database is escaped by the template.
 */
export function renderRunDetail(detail: RunDetail, now: Date): HistoryHtml {
  const { run } = detail;
  const pull = derivePullRequestUrl(run.cloneUrl, run.prNumber);
  const end = run.finishedAt ?? now;
  return renderHistoryLayout({
    title: `Run ${run.id}`,
    signedIn: true,
    body: html`<p><a href="${historyBasePath}">← All runs</a></p>
      <h1>Run <span class="mono">${run.id}</span></h1>
      ${renderVerdict(detail)}
      <h2 id="facts">Facts</h2>
      <dl class="facts" aria-labelledby="facts">
        <dt>Repository</dt>
        <dd>${run.repo ?? html`<span class="muted">none (${run.kind} run)</span>`}</dd>
        <dt>Issue</dt>
        <dd>${run.issueNumber === null ? "—" : `#${run.issueNumber}`}</dd>
        <dt>Agent</dt>
        <dd>${run.agent ?? "—"}</dd>
        <dt>State</dt>
        <dd id="run-state" class="state-${run.state}">${run.state}</dd>
        ${
          run.outcomeReason
            ? html`<dt>Reason</dt>
                <dd>${run.outcomeReason}</dd>`
            : ""
        }
        <dt>Attempt</dt>
        <dd>${run.attempt}</dd>
        <dt>Recorded</dt>
        <dd>${formatTime(run.createdAt)}</dd>
        <dt>Duration</dt>
        <dd>${formatDuration(end.getTime() - run.createdAt.getTime())}${run.finishedAt ? "" : " so far"}</dd>
        <dt>Tokens in / out</dt>
        <dd id="run-tokens">${detail.figures.inputTokens} / ${detail.figures.outputTokens}</dd>
        <dt>Cost</dt>
        <dd id="run-cost">${formatUsd(detail.figures.costUsd)}</dd>
        <dt>Image</dt>
        <dd id="run-image">${renderImage(detail)}</dd>
        <dt>Pull request</dt>
        <dd>${pull ? html`<a href="${pull}">#${run.prNumber ?? ""}</a>` : "—"}</dd>
      </dl>
      ${renderTimeline(detail)} ${renderCapabilities(detail)} ${renderCalls(detail)} ${renderFiles(detail)}`,
  });
}

function renderVerdict(detail: RunDetail): HistoryHtml {
  const v = detail.verification;
  if (v.ok) {
    return html`<p id="audit-verdict" class="verdict verified" role="status">
      Audit chain verifies: ${v.count} entries, head <code>${v.head}</code>${
        detail.checkpoint ? html`, reaching the commit trailer's <code>${detail.checkpoint}</code>` : ""
      }.
    </p>`;
  }
  return html`<p id="audit-verdict" class="verdict broken" role="alert">
    Audit chain does not verify: entry ${v.position}: ${v.reason}. Check it with
    <code>airlock audit verify ${detail.run.id}</code>.
  </p>`;
}

function renderImage(detail: RunDetail): HistoryHtml | string {
  const { image } = detail;
  if (!image.found) return image.problem ?? "— (no image.ready entry in the ledger)";
  return html`<code>${image.data.ref}</code><br /><code>${image.data.id}</code>${
      image.data.grantedBy ? html`<br />grants approved by ${image.data.grantedBy}` : ""
    }`;
}

function renderTimeline(detail: RunDetail): HistoryHtml {
  return html`<h2>Timeline</h2>
    ${
      detail.timeline.length === 0
        ? html`<p>No events recorded.</p>`
        : html`<table id="timeline">
            <caption>
              States, capability decisions and the image, oldest first
            </caption>
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Event</th>
                <th scope="col">Detail</th>
              </tr>
            </thead>
            <tbody>
              ${detail.timeline.map(
                (entry) =>
                  html`<tr data-event="${entry.event}">
                    <td>${formatTime(entry.at)}</td>
                    <td><code>${entry.event}</code></td>
                    <td>${entry.detail}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}

function renderCapabilities(detail: RunDetail): HistoryHtml {
  return html`<h2>Capability decisions</h2>
    ${
      detail.capabilities.length === 0
        ? html`<p>The agent asked for no capability.</p>`
        : html`<table id="capabilities">
            <caption>
              What the agent asked for and who decided
            </caption>
            <thead>
              <tr>
                <th scope="col">Asked</th>
                <th scope="col">Capability</th>
                <th scope="col">Agent's reason</th>
                <th scope="col">Decision</th>
                <th scope="col">Approver</th>
                <th scope="col">Decided</th>
              </tr>
            </thead>
            <tbody>
              ${detail.capabilities.map(
                (request) =>
                  html`<tr>
                    <td>${formatTime(request.createdAt)}</td>
                    <td>
                      <code
                        >${request.kind}:${request.name}${request.version ? `@${request.version}` : ""}</code
                      >
                    </td>
                    <td>${request.reason}</td>
                    <td>${request.state}${request.decisionReason ? `: ${request.decisionReason}` : ""}</td>
                    <td>${request.decidedBy ?? "—"}</td>
                    <td>${request.decidedAt ? formatTime(request.decidedAt) : "pending"}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}

function renderCalls(detail: RunDetail): HistoryHtml {
  const { figures } = detail;
  return html`<h2>LLM calls</h2>
    <p id="calls-summary">
      ${figures.calls} calls (${figures.failedCalls} not 2xx), ${figures.inputTokens} tokens in,
      ${figures.outputTokens} out,
      ${formatUsd(figures.costUsd)}${
        figures.unpricedModels.length > 0
          ? html`; <strong>unpriced models: ${figures.unpricedModels.join(", ")}</strong>`
          : ""
      }.
    </p>
    ${
      detail.calls.length === 0
        ? ""
        : html`<table id="calls">
            <caption>
              Every proxied call, in the order the proxy recorded them
            </caption>
            <thead>
              <tr>
                <th scope="col" class="num">#</th>
                <th scope="col">Started</th>
                <th scope="col">Provider</th>
                <th scope="col">Model</th>
                <th scope="col">Endpoint</th>
                <th scope="col" class="num">Status</th>
                <th scope="col" class="num">Tokens in / out</th>
                <th scope="col" class="num">Cost</th>
                <th scope="col" class="num">Latency</th>
                <th scope="col">Note</th>
              </tr>
            </thead>
            <tbody>
              ${detail.calls.map(
                (call) =>
                  html`<tr data-call-id="${call.id}">
                    <td class="num">${call.id}</td>
                    <td>${formatTime(call.startedAt)}</td>
                    <td>${call.provider}</td>
                    <td>${call.model ?? "—"}</td>
                    <td><code>${call.endpoint}</code>${call.stream ? " (stream)" : ""}</td>
                    <td class="num">${call.status}</td>
                    <td class="num">${call.inputTokens} / ${call.outputTokens}</td>
                    <td class="num">${call.priced ? formatUsd(call.costUsd) : "unpriced"}</td>
                    <td class="num">${formatDuration(call.latencyMs)}</td>
                    <td>
                      ${[
                        call.refusal ? `refused by the proxy (${call.refusal})` : "",
                        call.error ?? "",
                        call.clientAborted ? "client left mid-call" : "",
                        call.upstreamAttempts > 1 ? `${call.upstreamAttempts} upstream attempts` : "",
                      ]
                        .filter((note) => note !== "")
                        .join("; ")}
                    </td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}

function renderFiles(detail: RunDetail): HistoryHtml {
  const { committed } = detail;
  if (!committed.found) {
    return html`<h2>Files</h2>
      <p id="files-none">
        ${committed.problem ?? "The relay committed nothing for this run (no relay.committed entry)."}
      </p>`;
  }
  const data = committed.data;
  return html`<h2>Files</h2>
    <p>
      Branch
      <code>${data.branch}</code>${data.commit ? html`, commit <code>${data.commit}</code>` : ", no commit"}.
    </p>
    <table id="files-changed">
      <caption>
        Files changed (${data.filesChanged.length})
      </caption>
      <thead>
        <tr>
          <th scope="col">Path</th>
          <th scope="col">Change</th>
        </tr>
      </thead>
      <tbody>
        ${data.filesChanged.map(
          (file) =>
            html`<tr>
              <td><code>${file.path}</code></td>
              <td>${file.change}</td>
            </tr>`,
        )}
      </tbody>
    </table>
    <table id="files-held-back">
      <caption>
        Held back, not pushed
        (${data.heldBack.length + data.refused.length}${
          data.refusedOmitted > 0 ? ` and ${data.refusedOmitted} more refused` : ""
        })
      </caption>
      <thead>
        <tr>
          <th scope="col">Path</th>
          <th scope="col">Why</th>
        </tr>
      </thead>
      <tbody>
        ${[...data.heldBack, ...data.refused].map(
          (file) =>
            html`<tr>
              <td><code>${file.path}</code></td>
              <td>${file.reason}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
}
