/** GitHub refuses bodies over 65,536 characters; what is cut is the end (the per-call log, mostly). */
const maxBodyChars = 60_000;

export function clipToGitHubLimit(text: string): string {
  if (text.length <= maxBodyChars) return text;
  return `${text.slice(0, maxBodyChars)}\n\n… (cut to fit GitHub's limit; the full record: \`airlock audit export\`)\n\n</details>\n`;
}
