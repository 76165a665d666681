import { historyBasePath } from "./history-html.ts";

/**
 * Where the sign-in form sends the browser afterwards: a path of these pages as the form
 * carried it, else the list. Anything else (another site, `//host`, a backslash trick) is
 * dropped, so the form cannot be used to send an operator elsewhere.
 */
export function chooseReturnPath(next: string | undefined): string {
  return next !== undefined && /^\/history(\/[A-Za-z0-9_-]+)*$/.test(next) ? next : historyBasePath;
}
