import { lintSource } from "@secretlint/core";
import { secretLintProfiler } from "@secretlint/profiler";
import { creator as recommendedRules } from "@secretlint/secretlint-rule-preset-recommend";

/** A rule that matched, and where; never the matched text. */
export type SecretFinding = { rule: string; line: number };

const presetId = "@secretlint/secretlint-rule-preset-recommend";

// secretlint's maintained rule set covers the known formats (AWS, GitHub, GitLab, Slack,
// Stripe, OpenAI, Anthropic, npm, GCP, private keys, connection strings with passwords…).
// AWS access key ids are opt-in there: an id alone is not a credential, but an agent has
// no business committing one either.
const config = {
  rules: [
    {
      id: presetId,
      rule: recommendedRules,
      rules: [{ id: "@secretlint/secretlint-rule-aws", options: { enableIDScanRule: true } }],
    },
  ],
};

// What the maintained rules leave out, kept small:
// - its private key rule wants 100+ base64 characters, which an Ed25519 key (64) does not have;
// - it has no high-entropy rule. Ours only looks at values assigned to a name that says
//   secret, token, password or key, the way gitleaks' generic rule does, so that lockfile
//   integrity hashes, UUIDs and commit ids in ordinary files are not taken for secrets.
// Every repetition is bounded: the file is the agent's, and an unbounded `*` after a
// keyword is quadratic on a file of that keyword repeated (a stalled runner).
const privateKeyBlock =
  /-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY[A-Z ]{0,20}-----\s{0,4}(?:[A-Za-z-]{1,40}:[^\n]{0,200}\n\s{0,4}){0,4}[A-Za-z0-9+/=]{40}/g;
const secretAssignment =
  /(?:secret|token|passw(?:or)?d|pwd|api[_-]?key|apikey|access[_-]?key|auth[_-]?key|private[_-]?key|credential|client[_-]?secret|signing[_-]?key)[A-Za-z0-9_-]{0,40}["']?\s{0,8}(?::=|=>|=|:)\s{0,8}["'`]?([A-Za-z0-9+/_=-]{20,200})/gi;
const minEntropyBits = 3.5;
/** One finding is enough to hold a file back; a few more make the reason useful. */
const maxFindings = 20;
// Values that say they are not real (test fixtures, docs), as gitleaks' stopwords do.
const placeholder =
  /test|example|sample|dummy|fake|placeholder|changeme|secret|token|password|xxxx|0123456789|abcdef/i;

/**
 * Secrets in one file the agent wrote, before the relay pushes it. A finding holds the
 * file back; its rule and line go into the pull request, the secret itself nowhere
 * (secretlint's own messages quote it, so only rule ids are read, and masked besides).
 */
export async function scanForSecrets(path: string, content: Buffer): Promise<SecretFinding[]> {
  // secretlint's profiler is on by default and keeps a performance mark per rule and file
  // for the life of the process: a runner scanning every run's files would grow forever.
  secretLintProfiler.setEnabled(false);
  const text = content.toString("utf8");
  const lineAt = indexLines(text);
  const findings: SecretFinding[] = [];
  const result = await lintSource({
    source: { content: text, filePath: `/${path}`, ext: extensionOf(path), contentType: "text" },
    options: { config, maskSecrets: true, noPhysicFilePath: true },
  });
  for (const message of result.messages) {
    const rule = message.ruleId.replace(/^@secretlint\//, "");
    findings.push({ rule: `${rule} ${message.messageId}`, line: message.loc.start.line });
  }
  // A line a named rule already explains needs no generic finding beside it.
  const namedLines = new Set(findings.map((f) => f.line));
  for (const match of text.matchAll(privateKeyBlock)) {
    if (findings.length >= maxFindings) break;
    const line = lineAt(match.index);
    if (!namedLines.has(line)) findings.push({ rule: "airlock private-key-block", line });
  }
  for (const match of text.matchAll(secretAssignment)) {
    if (findings.length >= maxFindings) break;
    const value = match[1] ?? "";
    const line = lineAt(match.index);
    if (namedLines.has(line)) continue;
    if (placeholder.test(value)) continue;
    if (/[A-Za-z]/.test(value) && /[0-9]/.test(value) && shannonEntropy(value) >= minEntropyBits) {
      findings.push({ rule: "airlock high-entropy-assignment", line });
    }
  }
  return dedupe(findings).sort((a, b) => a.line - b.line || (a.rule < b.rule ? -1 : 1));
}

/** Bits per character of `value`'s own character distribution. */
function shannonEntropy(value: string): number {
  const counts = new Map<string, number>();
  for (const c of value) counts.set(c, (counts.get(c) ?? 0) + 1);
  let bits = 0;
  for (const n of counts.values()) {
    const p = n / value.length;
    bits -= p * Math.log2(p);
  }
  return bits;
}

/** A line-number lookup for `text`: a binary search over its newline offsets. */
function indexLines(text: string): (index: number) => number {
  const newlines: number[] = [];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) newlines.push(i);
  return (index) => {
    let low = 0;
    let high = newlines.length;
    while (low < high) {
      const mid = (low + high) >> 1;
      if (newlines[mid]! < index) low = mid + 1;
      else high = mid;
    }
    return low + 1;
  };
}

function extensionOf(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  return dot > 0 ? name.slice(dot) : "";
}

function dedupe(findings: SecretFinding[]): SecretFinding[] {
  const seen = new Set<string>();
  return findings.filter((f) => {
    const key = `${f.rule}:${f.line}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
