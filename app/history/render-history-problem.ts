import { html } from "hono/html";
import { historyBasePath, type HistoryHtml } from "./history-html.ts";
import { renderHistoryLayout } from "./render-history-layout.ts";

/** A page that says what was wrong with the request (a bad filter, an unknown run). */
export function renderHistoryProblem(title: string, problem: string): HistoryHtml {
  return renderHistoryLayout({
    title,
    signedIn: true,
    body: html`<h1>${title}</h1>
      <p class="problem" role="alert">${problem}</p>
      <p><a href="${historyBasePath}">All runs</a></p>`,
  });
}
