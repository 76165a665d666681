import { neutraliseMentions } from "./neutralise-mentions.ts";

/**
 * Text from the sandbox (paths, model names, errors) placed in markdown that GitHub renders.
 * Markdown and HTML metacharacters are escaped so a file named `</details><img src=…>` or
 * `[click](…)` shows as text instead of changing the page; newlines are flattened so it
 * cannot start a new block; `@login` no longer notifies anyone.
 */
export function escapeMarkdown(text: string): string {
  return neutraliseMentions(
    text
      // eslint-disable-next-line no-control-regex
      .replace(/[\u0000-\u001f\u007f]+/g, " ")
      .replace(/[\\`*_{}[\]<>#+!~&"]/g, (c) =>
        c === "&" ? "&amp;" : c === "<" ? "&lt;" : c === ">" ? "&gt;" : c === '"' ? "&quot;" : `\\${c}`,
      ),
  );
}

/**
 * A block of untrusted prose (the agent's summary) kept readable as markdown but with raw
 * HTML and images disabled, quoted so it is visibly the agent's words, its `@mentions`
 * neutralised.
 */
export function quoteUntrustedMarkdown(text: string): string {
  return neutraliseMentions(text)
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/!\[/g, "!\\[")
    .split(/\r?\n/)
    .map((line) => `> ${line}`.trimEnd())
    .join("\n");
}

/**
 * An inline code span for untrusted text (paths, model ids): inside one nothing is markup,
 * so only the backtick fence and line breaks need handling.
 */
export function formatCode(text: string): string {
  // eslint-disable-next-line no-control-regex
  const flat = text.replace(/[\u0000-\u001f\u007f]+/g, " ");
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = "`".repeat(longest + 1);
  const pad = longest > 0 || flat.startsWith(" ") || flat.endsWith(" ") ? " " : "";
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** A GFM table cell: a pipe, even inside a code span, ends the cell unless escaped. */
export function escapeTableCell(text: string): string {
  return text.replace(/\|/g, "\\|");
}
