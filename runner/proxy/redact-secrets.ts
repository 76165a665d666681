/**
 * Remove secrets from text before it is stored or logged: the literal values we know
 * (provider keys, the run's token) and anything shaped like a credential. Agents paste
 * whatever they find into prompts; an audit log must not become the place keys leak from.
 */
interface SecretPattern {
  pattern: RegExp;
  /**
   * A cheap test that must pass for the pattern to match at all (a literal it contains, or a
   * short anchor): most bodies contain no secret, and the full patterns are the costly part of
   * recording a call. `lower` is the text in lower case, for the case-insensitive patterns.
   */
  mayMatch(text: string, lower: string): boolean;
}

const secretPatterns: readonly SecretPattern[] = [
  // PEM private keys (RSA, EC, OPENSSH, PKCS#8), including JSON-escaped newlines.
  {
    pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----/g,
    mayMatch: (text) => text.includes("-----BEGIN "),
  },
  // Run tokens: <runId>.<attempt>.<expiry>.<43-char base64url HMAC>.
  {
    pattern: /\b[a-z0-9][a-z0-9_-]{0,63}\.[0-9]{1,9}\.[0-9]{1,15}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g,
    mayMatch: (text) => runTokenAnchor.test(text),
  },
  // Bearer credentials in headers or prose.
  {
    pattern: /\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{12,}/gi,
    mayMatch: (_text, lower) =>
      lower.includes("bearer") || lower.includes("basic") || lower.includes("token"),
  },
  // OpenAI / Anthropic / generic "sk-" keys.
  { pattern: /\bsk-[A-Za-z0-9_-]{16,}/g, mayMatch: (text) => text.includes("sk-") },
  // GitHub tokens.
  {
    pattern: /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g,
    mayMatch: (text) => githubTokenAnchor.test(text),
  },
  // AWS access key ids and Google API keys.
  {
    pattern: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/g,
    mayMatch: (text) => text.includes("AKIA") || text.includes("ASIA"),
  },
  { pattern: /\bAIza[0-9A-Za-z_-]{35}/g, mayMatch: (text) => text.includes("AIza") },
  // Slack tokens.
  { pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/g, mayMatch: (text) => text.includes("xox") },
];

/** The middle of a run token; no lookbehind or word boundary, so it is a fast scan. */
const runTokenAnchor = /\.[0-9]{1,9}\.[0-9]{1,15}\./;
const githubTokenAnchor = /gh[pousr]_|github_pat_/;
/** A word every name in secretFieldPattern contains (lower case). */
const secretFieldWords = ["key", "authorization", "password", "secret", "token"];

/** JSON fields whose value is a credential whatever it looks like. */
const secretFieldPattern =
  /("(?:api[_-]?key|x-api-key|authorization|password|secret|client_secret|access_token|refresh_token|private_key)"\s*:\s*")((?:[^"\\]|\\.)*)(")/gi;

export const redactedMarker = "[REDACTED]";

export function redactSecrets(text: string, literals: readonly (string | undefined)[] = []): string {
  let out = text;
  for (const literal of literals) {
    // Short literals would redact ordinary words; real keys and tokens are long.
    if (literal && literal.length >= 8 && out.includes(literal))
      out = out.split(literal).join(redactedMarker);
  }
  const lower = out.toLowerCase();
  for (const { pattern, mayMatch } of secretPatterns) {
    if (mayMatch(out, lower)) out = out.replace(pattern, redactedMarker);
  }
  if (!secretFieldWords.some((word) => lower.includes(word))) return out;
  out = out.replace(secretFieldPattern, (_m, open: string, value: string, close: string) =>
    value === "" || value === redactedMarker ? `${open}${value}${close}` : `${open}${redactedMarker}${close}`,
  );
  return out;
}
