import { html } from "hono/html";
import { historyBasePath, type HistoryHtml } from "./history-html.ts";

export interface HistoryLayoutInput {
  title: string;
  body: HistoryHtml;
  /** Shows the navigation and the sign-out button (not on the sign-in page). */
  signedIn: boolean;
}

/** The frame every page shares: a skip link, the navigation, and `main` for the content. */
export function renderHistoryLayout(input: HistoryLayoutInput): HistoryHtml {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="referrer" content="no-referrer" />
        <title>${input.title} · Airlock run history</title>
        <link rel="stylesheet" href="${historyBasePath}/style.css" />
      </head>
      <body>
        <a class="skip" href="#main">Skip to content</a>
        <header>
          <span class="brand">Airlock run history</span>
          ${
            input.signedIn
              ? html`<nav aria-label="Pages">
                    <ul>
                      <li><a href="${historyBasePath}">Runs</a></li>
                      <li><a href="${historyBasePath}/totals">Totals</a></li>
                    </ul>
                  </nav>
                  <form method="post" action="${historyBasePath}/sign-out">
                    <button type="submit" class="link">Sign out</button>
                  </form>`
              : ""
          }
        </header>
        <main id="main" tabindex="-1">${input.body}</main>
      </body>
    </html>`;
}
