import { scanForSecrets } from "./scan-for-secrets.ts";

/**
 * The agent's prose (its summary, which becomes the commit body and part of the pull
 * request) scanned like a file: when it looks like it holds a secret, it is replaced by a
 * note naming the rules and lines, so the secret is neither pushed nor posted.
 */
export async function withholdSecretText(text: string, what: string): Promise<string> {
  const findings = await scanForSecrets("agent-summary.md", Buffer.from(text));
  if (findings.length === 0) return text;
  const rules = findings.slice(0, 5).map((f) => `${f.rule} at line ${f.line}`);
  return `[${what} was withheld: it looks like it holds a secret (${rules.join("; ")}).]`;
}
