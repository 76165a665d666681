import type { z } from "zod";
import { AirlockError } from "../../core/errors.ts";

/** A payload that lacks what the handler depends on is GitHub's (or a forger's) error, named by field. */
export function parsePayload<T extends z.ZodType>(schema: T, payload: unknown, event: string): z.infer<T> {
  const result = schema.safeParse(payload);
  if (result.success) return result.data;
  const where = result.error.issues
    .slice(0, 3)
    .map((i) => `${i.path.join(".") || "(payload)"}: ${i.message}`)
    .join("; ");
  throw new AirlockError(
    "invalid_webhook_payload",
    `${event} payload is missing what Airlock needs (${where})`,
  );
}
