import type { IncomingMessage } from "node:http";
import type { ProxyContext } from "../proxy-context.ts";
import { refuse, type StepResult } from "../proxy-refusal.ts";

function readBody(req: IncomingMessage, limit: number): Promise<Buffer | "too_large"> {
  const declared = Number(req.headers["content-length"]);
  if (Number.isFinite(declared) && declared > limit) return Promise.resolve("too_large");
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on("data", (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limit) {
        done = true;
        req.pause();
        resolve("too_large");
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => {
      if (!done) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on("error", reject);
  });
}

/** Step 3. The request body, read whole but never past the proxy's size limit. */
export async function readRequestBody(
  ctx: ProxyContext,
  req: IncomingMessage,
): Promise<StepResult<{ body: Buffer }>> {
  const read = await readBody(req, ctx.bodyLimit);
  if (read === "too_large") {
    return refuse(
      413,
      "too_large",
      "too_large",
      `request body is larger than the proxy's limit of ${ctx.bodyLimit} bytes`,
      { connection: "close" },
    );
  }
  return { ok: true, body: read };
}
