import { html } from "hono/html";
import type { RunTotalsRow } from "../../core/db/run-history.ts";
import { formatUsd } from "./format-usd.ts";
import { historyBasePath, type HistoryHtml } from "./history-html.ts";
import { renderHistoryLayout } from "./render-history-layout.ts";

export interface RunTotalsInput {
  byRepo: readonly RunTotalsRow[];
  byDay: readonly RunTotalsRow[];
  days: number;
}

/** Runs, outcomes, tokens and cost summed per repository and per UTC day. */
export function renderRunTotals(input: RunTotalsInput): HistoryHtml {
  return renderHistoryLayout({
    title: "Totals",
    signedIn: true,
    body: html`<h1>Totals</h1>
      ${renderTable({
        id: "totals-by-repo",
        caption: "Per repository",
        keyHeading: "Repository",
        rows: input.byRepo,
        keyCell: (row) =>
          row.key === null
            ? html`<span class="muted">no repository (local and manual runs)</span>`
            : html`<a href="${historyBasePath}?repo=${encodeURIComponent(row.key)}">${row.key}</a>`,
      })}
      ${renderTable({
        id: "totals-by-day",
        caption: `Per day (UTC), the last ${input.days} days with runs`,
        keyHeading: "Day",
        rows: input.byDay,
        keyCell: (row) => row.key ?? "—",
      })}`,
  });
}

function renderTable(input: {
  id: string;
  caption: string;
  keyHeading: string;
  rows: readonly RunTotalsRow[];
  keyCell: (row: RunTotalsRow) => HistoryHtml | string;
}): HistoryHtml {
  return html`<h2 id="${input.id}-heading">${input.caption}</h2>
    ${
      input.rows.length === 0
        ? html`<p>No runs yet.</p>`
        : html`<table id="${input.id}" aria-labelledby="${input.id}-heading">
            <thead>
              <tr>
                <th scope="col">${input.keyHeading}</th>
                <th scope="col" class="num">Runs</th>
                <th scope="col" class="num">Succeeded</th>
                <th scope="col" class="num">Failed</th>
                <th scope="col" class="num">LLM calls</th>
                <th scope="col" class="num">Tokens in / out</th>
                <th scope="col" class="num">Cost</th>
              </tr>
            </thead>
            <tbody>
              ${input.rows.map(
                (row) =>
                  html`<tr>
                    <th scope="row">${input.keyCell(row)}</th>
                    <td class="num">${row.runs}</td>
                    <td class="num">${row.succeeded}</td>
                    <td class="num">${row.failed}</td>
                    <td class="num">${row.calls}</td>
                    <td class="num">${row.inputTokens} / ${row.outputTokens}</td>
                    <td class="num">${formatUsd(row.costUsd)}</td>
                  </tr>`,
              )}
            </tbody>
          </table>`
    }`;
}
