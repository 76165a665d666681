import { neutraliseMentions } from "../../core/summary/neutralise-mentions.ts";
import { RelayError } from "./relay-error.ts";

export type CommitMessage = { subject: string; body: string };

const maxBodyBytes = 64 * 1024;

/**
 * subject, blank line, body, blank line, trailers as `Key: value`. The body is the
 * agent's summary and so untrusted: control characters are dropped and it is cut to
 * 64 KiB; our trailers always form the last paragraph, which is the one git and
 * GitHub read trailers from. GitHub links `@login` in commit messages it shows on the pull
 * request, so the agent's mentions are neutralised here too.
 */
export function formatCommitMessage(message: CommitMessage, trailers: Record<string, string>): string {
  const subject = neutraliseMentions(stripControl(message.subject)).replace(/\s+/g, " ").trim().slice(0, 200);
  if (subject.length === 0) throw new RelayError("The commit subject is empty; pass a one-line subject.");
  let body = neutraliseMentions(stripControl(message.body.replace(/\r\n?/g, "\n"))).trim();
  if (Buffer.byteLength(body) > maxBodyBytes) {
    body = `${Buffer.from(body)
      .subarray(0, maxBodyBytes)
      .toString("utf8")
      .replace(/\uFFFD+$/, "")}\n\n[summary cut at 64 KiB]`;
  }
  const lines: string[] = [];
  for (const [key, value] of Object.entries(trailers)) {
    if (!/^[A-Za-z0-9][A-Za-z0-9-]*$/.test(key)) {
      throw new RelayError(
        `The trailer key "${key}" is not a valid git trailer token (letters, digits, "-").`,
      );
    }
    if (/[\r\n]/.test(value) || value.trim().length === 0) {
      throw new RelayError(`The trailer "${key}" needs a single-line, non-empty value.`);
    }
    lines.push(`${key}: ${value.trim()}`);
  }
  const paragraphs = [subject];
  if (body.length > 0) paragraphs.push(body);
  if (lines.length > 0) paragraphs.push(lines.join("\n"));
  return `${paragraphs.join("\n\n")}\n`;
}

function stripControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "");
}
