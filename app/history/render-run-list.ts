import { html } from "hono/html";
import type { RunHistoryPage } from "../../core/db/run-history.ts";
import { runStates } from "../../core/run-states.ts";
import { derivePullRequestUrl } from "./derive-pull-request-url.ts";
import { formatDuration } from "./format-duration.ts";
import { formatTime } from "./format-time.ts";
import { formatUsd } from "./format-usd.ts";
import { historyBasePath, type HistoryHtml } from "./history-html.ts";
import type { HistoryQuery } from "./parse-history-query.ts";
import { renderHistoryLayout } from "./render-history-layout.ts";

export interface RunListInput {
  query: HistoryQuery;
  page: RunHistoryPage;
  pageSize: number;
  /** Every repository with a run: the filter's choices. */
  repos: readonly string[];
  now: Date;
}

/** The list of runs, newest first, with the filter form (a plain GET form: no script needed) and page links. */
export function renderRunList(input: RunListInput): HistoryHtml {
  const { query, page, pageSize } = input;
  const pages = Math.max(1, Math.ceil(page.total / pageSize));
  const first = page.total === 0 ? 0 : (query.page - 1) * pageSize + 1;
  const last = (query.page - 1) * pageSize + page.rows.length;
  const linkTo = (n: number) => {
    const params = new URLSearchParams();
    if (query.repo !== undefined) params.set("repo", query.repo);
    if (query.state !== undefined) params.set("state", query.state);
    params.set("page", String(n));
    return `${historyBasePath}?${params.toString()}`;
  };
  return renderHistoryLayout({
    title: "Runs",
    signedIn: true,
    body: html`<h1>Runs</h1>
      <form class="filters" method="get" action="${historyBasePath}" role="search" aria-label="Filter runs">
        <div>
          <label for="filter-repo">Repository</label>
          <select id="filter-repo" name="repo">
            <option value="">All repositories</option>
            ${input.repos.map(
              (repo) =>
                html`<option value="${repo}" ${repo === query.repo ? "selected" : ""}>${repo}</option>`,
            )}
          </select>
        </div>
        <div>
          <label for="filter-state">State</label>
          <select id="filter-state" name="state">
            <option value="">All states</option>
            ${runStates.map(
              (state) =>
                html`<option value="${state}" ${state === query.state ? "selected" : ""}>${state}</option>`,
            )}
          </select>
        </div>
        <button type="submit">Filter</button>
      </form>
      <p id="run-count" aria-live="polite">
        ${
          page.total === 0
            ? "No runs match."
            : `Runs ${first}–${last} of ${page.total}${query.repo ? ` in ${query.repo}` : ""}${query.state ? `, state ${query.state}` : ""}.`
        }
      </p>
      ${
        page.rows.length === 0
          ? ""
          : html`<table id="runs">
              <caption>
                Runs, newest first
              </caption>
              <thead>
                <tr>
                  <th scope="col">Run</th>
                  <th scope="col">Repository</th>
                  <th scope="col" class="num">Issue</th>
                  <th scope="col">Agent</th>
                  <th scope="col">State</th>
                  <th scope="col" class="num">Tokens in / out</th>
                  <th scope="col" class="num">Cost</th>
                  <th scope="col" class="num">Duration</th>
                  <th scope="col">Recorded</th>
                  <th scope="col">Pull request</th>
                </tr>
              </thead>
              <tbody>
                ${page.rows.map((run) => {
                  const pull = derivePullRequestUrl(run.cloneUrl, run.prNumber);
                  const duration = run.finishedAt
                    ? formatDuration(run.finishedAt.getTime() - run.createdAt.getTime())
                    : `${formatDuration(input.now.getTime() - run.createdAt.getTime())} so far`;
                  return html`<tr data-run-id="${run.id}">
                    <td><a class="mono" href="${historyBasePath}/runs/${run.id}">${run.id}</a></td>
                    <td>${run.repo ?? html`<span class="muted">${run.kind} run</span>`}</td>
                    <td class="num">${run.issueNumber === null ? "—" : `#${run.issueNumber}`}</td>
                    <td>${run.agent ?? "—"}</td>
                    <td class="state-${run.state}">${run.state}</td>
                    <td class="num">${run.inputTokens} / ${run.outputTokens}</td>
                    <td class="num">${formatUsd(run.costUsd)}</td>
                    <td class="num">${duration}</td>
                    <td>${formatTime(run.createdAt)}</td>
                    <td>
                      ${
                        pull
                          ? html`<a href="${pull}"
                              >#${run.prNumber ?? ""}<span class="visually-hidden">
                                pull request of ${run.id}</span
                              ></a
                            >`
                          : "—"
                      }
                    </td>
                  </tr>`;
                })}
              </tbody>
            </table>`
      }
      ${
        pages > 1
          ? html`<nav class="pages" aria-label="Pages of runs">
              <ul>
                ${query.page > 1 ? html`<li><a href="${linkTo(query.page - 1)}" rel="prev">Newer runs</a></li>` : ""}
                <li aria-current="page">Page ${query.page} of ${pages}</li>
                ${query.page < pages ? html`<li><a href="${linkTo(query.page + 1)}" rel="next">Older runs</a></li>` : ""}
              </ul>
            </nav>`
          : ""
      }`,
  });
}
