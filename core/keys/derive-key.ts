import { hkdfSync } from "node:crypto";

/**
 * What a key derived from AIRLOCK_TOKEN_SECRET is for. Each purpose has its own HKDF
 * label, so holding one derived key gives nothing about another: a process that only
 * checks run tokens cannot sign ledger entries, and a leaked ledger key mints no token
 * (issue 9 §5). The labels are part of the stored format: changing one invalidates every
 * token or ledger signed with it.
 */
export type KeyPurpose = "run-token" | "audit-ledger";

const labels: Readonly<Record<KeyPurpose, string>> = {
  "run-token": "airlock run-token hmac v1",
  "audit-ledger": "airlock audit-ledger hmac v1",
};

// HKDF costs ~7 µs and the proxy checks a token on every request: keep the last few keys.
// Bounded, and it holds nothing the process did not already hold (the secret itself).
const cache = new Map<string, string>();
const cacheLimit = 16;

/**
 * The lowercase hex of HKDF-SHA256 (RFC 5869) over the secret's UTF-8 bytes, empty salt,
 * info = the purpose's label, 32 bytes; the HMACs are keyed with this 64-character string
 * (its ASCII bytes). A string, not the raw bytes: node's createHmac takes a Buffer key
 * several times slower (measured ~28 µs against ~4 µs per HMAC), and the proxy signs a
 * ledger entry per call. It also lets `openssl dgst -sha256 -hmac <key>` check an entry.
 */
export function deriveKey(secret: string, purpose: KeyPurpose): string {
  const cacheKey = `${purpose}\u0000${secret}`;
  const cached = cache.get(cacheKey);
  if (cached) return cached;
  const key = Buffer.from(hkdfSync("sha256", secret, Buffer.alloc(0), labels[purpose], 32)).toString("hex");
  if (cache.size >= cacheLimit) cache.clear();
  cache.set(cacheKey, key);
  return key;
}
