import type { GitCredentials } from "./git-credentials.ts";

/**
 * Removes a credential from text git printed (an error message echoes a URL or a header
 * value) before it reaches a log line or an exception: the password itself, the Basic
 * header that carries it, and any `user:password@` left in a URL.
 */
export function redactCredentials(text: string, credentials: GitCredentials | undefined): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/@\s]*@/gi, "$1***@");
  if (credentials !== undefined) {
    const basic = Buffer.from(`${credentials.username}:${credentials.password}`).toString("base64");
    for (const secret of [basic, credentials.password, encodeURIComponent(credentials.password)]) {
      if (secret.length > 0) out = out.split(secret).join("***");
    }
  }
  return out;
}
