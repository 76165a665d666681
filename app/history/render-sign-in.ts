import { html } from "hono/html";
import { historyBasePath, type HistoryHtml } from "./history-html.ts";
import { chooseReturnPath } from "./choose-return-path.ts";
import { renderHistoryLayout } from "./render-history-layout.ts";

/**
 * The sign-in form: the operator pastes AIRLOCK_HISTORY_TOKEN once and the browser keeps a
 * session cookie. `next` is where to go afterwards; only paths under the page are kept.
 */
export function renderSignIn(input: {
  problem?: string | undefined;
  next?: string | undefined;
}): HistoryHtml {
  const next = chooseReturnPath(input.next);
  return renderHistoryLayout({
    title: "Sign in",
    signedIn: false,
    body: html`<h1>Sign in</h1>
      ${input.problem ? html`<p class="problem" role="alert">${input.problem}</p>` : ""}
      <p>
        This page shows every repository's runs, so it is for Airlock's operators only. Enter the token the
        operator set in <code>AIRLOCK_HISTORY_TOKEN</code>, or send it as
        <code>Authorization: Bearer &lt;token&gt;</code>.
      </p>
      <form method="post" action="${historyBasePath}/sign-in">
        <input type="hidden" name="next" value="${next}" />
        <p>
          <label for="token">Operator token</label><br />
          <input id="token" name="token" type="password" autocomplete="current-password" required size="48" />
        </p>
        <button type="submit">Sign in</button>
      </form>`,
  });
}
