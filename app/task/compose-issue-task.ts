import { cleanUntrustedText } from "../text/clean-untrusted-text.ts";

export interface TaskText {
  author: string;
  /** The author meets `min_permission` (and is not a bot): only then is the text used. */
  trusted: boolean;
}

export interface IssueTaskParts {
  issueNumber: number;
  issue: TaskText & { title: string; body: string };
  /** Oldest first, as GitHub lists them; the trigger comment already left out. */
  comments: readonly (TaskText & { body: string; createdAt: string })[];
  /** `/airlock run <instructions>`: the requester's own words, placed first. */
  instructions?: { by: string; text: string } | undefined;
  maxChars: number;
}

export interface IssueTask {
  /** Plain markdown; the runner fences it as untrusted input in `.airlock/task.md`. */
  prompt: string;
  /** False when nothing a trusted person wrote is in the prompt: the run must be refused. */
  hasTrustedText: boolean;
  /** Logins whose text was withheld for lack of permission. */
  withheldAuthors: string[];
  /** Logins whose (older) comments were dropped to fit `maxChars`. */
  omittedAuthors: string[];
}

/**
 * The agent's task from an issue. Only text by people at or above `min_permission` is used:
 * anyone can comment on a public issue, and a comment is a prompt injection waiting for an
 * agent that can push code (issue #5). Everything passes through `cleanUntrustedText`
 * (hidden HTML comments, bidi and invisible characters). Within `maxChars`, the
 * instructions and the issue come first, then the most recent comments that fit.
 */
export function composeIssueTask(parts: IssueTaskParts): IssueTask {
  const withheld = new Set<string>();
  const sections: string[] = [];
  let hasTrustedText = false;
  const cap = Math.max(1000, parts.maxChars);

  if (parts.instructions) {
    const text = cleanUntrustedText(parts.instructions.text, { maxChars: Math.floor(cap / 3) }).text.trim();
    if (text) {
      hasTrustedText = true;
      sections.push(`## Instructions from @${parts.instructions.by}\n\n${text}`);
    }
  }

  if (parts.issue.trusted) {
    const title = cleanUntrustedText(parts.issue.title, { maxChars: 300 }).text.replace(/\s+/g, " ").trim();
    const body = cleanUntrustedText(parts.issue.body, { maxChars: Math.floor(cap / 3) }).text.trim();
    if (title || body) hasTrustedText = true;
    sections.push(`## Issue #${parts.issueNumber}: ${title}\n\n${body || "(no description)"}`);
  } else {
    withheld.add(parts.issue.author);
    sections.push(
      `## Issue #${parts.issueNumber}\n\n(title and description withheld: written by @${parts.issue.author}, below the required permission)`,
    );
  }

  const used = sections.reduce((n, s) => n + s.length + 2, 0);
  let room = cap - used;
  const kept: string[] = [];
  const omitted = new Set<string>();
  for (let i = parts.comments.length - 1; i >= 0; i--) {
    const comment = parts.comments[i]!;
    if (!comment.trusted) {
      withheld.add(comment.author);
      continue;
    }
    const body = cleanUntrustedText(comment.body, { maxChars: Math.floor(cap / 4) }).text.trim();
    if (!body) continue;
    const section = `### @${comment.author} (${comment.createdAt})\n\n${body}`;
    if (section.length + 2 > room) {
      omitted.add(comment.author);
      continue;
    }
    room -= section.length + 2;
    kept.unshift(section);
    hasTrustedText = true;
  }
  if (kept.length > 0) sections.push(`## Comments (oldest first)\n\n${kept.join("\n\n")}`);

  const notes: string[] = [];
  if (withheld.size > 0) {
    notes.push(
      `Withheld (below the required permission): text by ${[...withheld].map((a) => `@${a}`).join(", ")}.`,
    );
  }
  if (omitted.size > 0) {
    notes.push(
      `Left out to fit the size cap: older comments by ${[...omitted].map((a) => `@${a}`).join(", ")}.`,
    );
  }
  if (notes.length > 0) sections.push(`---\n\n${notes.join("\n")}`);

  return {
    prompt: sections.join("\n\n") + "\n",
    hasTrustedText,
    withheldAuthors: [...withheld],
    omittedAuthors: [...omitted],
  };
}
