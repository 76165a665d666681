import type { html } from "hono/html";

/** What a page part renders to: hono's escaped HTML (interpolated strings are escaped once). */
export type HistoryHtml = ReturnType<typeof html>;

/** Where the pages are served; every link is built under it. */
export const historyBasePath = "/history";
