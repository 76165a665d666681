/**
 * Remove secrets from text before it is stored or logged: the literal values we know
 * (provider keys, the run's token) and anything shaped like a credential. Agents paste
 * whatever they find into prompts; an audit log must not become the place keys leak from.
 */
const secretPatterns: readonly RegExp[] = [
  // PEM private keys (RSA, EC, OPENSSH, PKCS#8), including JSON-escaped newlines.
  /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----/g,
  // Run tokens: <runId>.<attempt>.<expiry>.<43-char base64url HMAC>.
  /\b[a-z0-9][a-z0-9_-]{0,63}\.[0-9]{1,9}\.[0-9]{1,15}\.[A-Za-z0-9_-]{43}(?![A-Za-z0-9_-])/g,
  // Bearer credentials in headers or prose.
  /\b(Bearer|Basic|token)\s+[A-Za-z0-9._~+/=-]{12,}/gi,
  // OpenAI / Anthropic / generic "sk-" keys.
  /\bsk-[A-Za-z0-9_-]{16,}/g,
  // GitHub tokens.
  /\b(gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})/g,
  // AWS access key ids and Google API keys.
  /\b(AKIA|ASIA)[0-9A-Z]{16}\b/g,
  /\bAIza[0-9A-Za-z_-]{35}/g,
  // Slack tokens.
  /\bxox[abprs]-[A-Za-z0-9-]{10,}/g,
];

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
  for (const pattern of secretPatterns) out = out.replace(pattern, redactedMarker);
  out = out.replace(secretFieldPattern, (_m, open: string, value: string, close: string) =>
    value === "" || value === redactedMarker ? `${open}${value}${close}` : `${open}${redactedMarker}${close}`,
  );
  return out;
}
