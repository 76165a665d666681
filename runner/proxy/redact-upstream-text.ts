/** Providers echo (masked) keys in auth errors; the client and the audit must never see ours. */
export function redactUpstreamText(text: string, keys: readonly string[]): string {
  let out = text;
  for (const key of keys) {
    if (key.length >= 8 && out.includes(key)) out = out.split(key).join("[REDACTED]");
  }
  return out;
}
