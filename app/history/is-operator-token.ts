import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Whether `presented` is the operators' token, compared in constant time. Both sides are
 * hashed first so the comparison does not stop early on a length difference either: the
 * time taken says nothing about how much of a guess was right.
 */
export function isOperatorToken(presented: string | undefined, expected: string): boolean {
  if (presented === undefined || presented === "") return false;
  const digest = (text: string) => createHash("sha256").update(text, "utf8").digest();
  return timingSafeEqual(digest(presented), digest(expected));
}
