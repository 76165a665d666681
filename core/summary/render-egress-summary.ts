import { escapeMarkdown, formatCode } from "./escape-markdown.ts";
import type { EgressSummary } from "./summarize-egress.ts";

/** Domains listed per kind; an agent looping over made-up names must not flood the PR body. */
const maxListed = 50;

/**
 * The egress part of a run's summary: a line for the summary table, and a section listing
 * each granted domain used (connections, bytes each way) and each domain the agent tried
 * and was refused, with how many times and why. Domain names and reasons come from the
 * sandbox's requests, so they are shown as code or escaped.
 */
export function renderEgressSummary(egress: EgressSummary): { row: string; section: string[] } {
  const { used, blocked } = egress;
  if (used.length === 0 && blocked.length === 0) {
    return { row: "no connection attempted", section: [] };
  }
  const connections = used.reduce((n, u) => n + u.connections, 0);
  const bytesOut = used.reduce((n, u) => n + u.bytesOut, 0);
  const bytesIn = used.reduce((n, u) => n + u.bytesIn, 0);
  const attempts = blocked.reduce((n, b) => n + b.attempts, 0);
  const row =
    `${plural(used.length, "granted domain")} used` +
    (used.length > 0
      ? ` (${plural(connections, "connection")}, ${bytes(bytesOut)} out / ${bytes(bytesIn)} in)`
      : "") +
    `; ${plural(blocked.length, "domain")} blocked` +
    (blocked.length > 0 ? ` (${plural(attempts, "attempt")})` : "");

  const section = [`### Egress`, ""];
  section.push(`Granted domains used (${used.length}):`, "");
  if (used.length === 0) section.push("None.");
  for (const u of used.slice(0, maxListed)) {
    section.push(
      `- ${formatCode(u.domain)}: ${plural(u.connections, "connection")}, ${bytes(u.bytesOut)} out, ${bytes(u.bytesIn)} in`,
    );
  }
  if (used.length > maxListed) section.push(`- and ${used.length - maxListed} more, not listed`);
  section.push("", `Blocked: each domain the agent tried and was refused (${blocked.length}):`, "");
  if (blocked.length === 0) section.push("None.");
  for (const b of blocked.slice(0, maxListed)) {
    section.push(
      `- ${formatCode(b.domain)}: ${plural(b.attempts, "attempt")} (${b.reasons.map(escapeMarkdown).join("; ")})`,
    );
  }
  if (blocked.length > maxListed) section.push(`- and ${blocked.length - maxListed} more, not listed`);
  section.push("");
  return { row, section };
}

function plural(n: number, noun: string): string {
  return `${n.toLocaleString("en-US")} ${noun}${n === 1 ? "" : "s"}`;
}

function bytes(n: number): string {
  return `${n.toLocaleString("en-US")} B`;
}
