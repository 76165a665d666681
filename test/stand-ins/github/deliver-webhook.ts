import { createHmac, randomBytes, randomUUID } from "node:crypto";

/**
 * POSTs one delivery the way GitHub's Hookshot does: the exact raw body signed with
 * HMAC-SHA256 (and the legacy SHA-1 header), the event, delivery and hook headers.
 */
export async function deliverWebhook(opts: {
  url: string;
  secret: string;
  event: string;
  payload: object;
  hookId: number;
  appId: number;
  deliveryId?: string;
}): Promise<{ status: number; body: string; deliveryId: string }> {
  const deliveryId = opts.deliveryId ?? randomUUID();
  const body = JSON.stringify(opts.payload);
  const sign = (algorithm: "sha256" | "sha1") =>
    `${algorithm}=${createHmac(algorithm, opts.secret).update(body).digest("hex")}`;
  const response = await fetch(opts.url, {
    method: "POST",
    headers: {
      "User-Agent": `GitHub-Hookshot/${randomBytes(4).toString("hex").slice(0, 7)}`,
      Accept: "*/*",
      "Content-Type": "application/json",
      "X-GitHub-Event": opts.event,
      "X-GitHub-Delivery": deliveryId,
      "X-GitHub-Hook-ID": String(opts.hookId),
      "X-GitHub-Hook-Installation-Target-Type": "integration",
      "X-GitHub-Hook-Installation-Target-ID": String(opts.appId),
      "X-Hub-Signature": sign("sha1"),
      "X-Hub-Signature-256": sign("sha256"),
    },
    body,
  });
  return { status: response.status, body: await response.text(), deliveryId };
}
