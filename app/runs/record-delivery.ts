import type { Db } from "../../core/db/open-database.ts";
import { webhookDeliveries } from "../../core/db/schema.ts";

export interface DeliveryRecord {
  id: string;
  event: string;
  action?: string | undefined;
  installationId?: number | undefined;
  repo?: string | undefined;
  runId?: string | undefined;
}

/**
 * Records a delivery as handled; false when it already was (GitHub redelivers on timeouts,
 * operators redeliver by hand), in which case the caller does nothing at all.
 */
export async function recordDelivery(db: Db, delivery: DeliveryRecord): Promise<boolean> {
  const inserted = await db
    .insert(webhookDeliveries)
    .values({
      id: delivery.id,
      event: delivery.event,
      action: delivery.action ?? null,
      installationId: delivery.installationId ?? null,
      repo: delivery.repo ?? null,
      runId: delivery.runId ?? null,
    })
    .onConflictDoNothing({ target: webhookDeliveries.id })
    .returning({ id: webhookDeliveries.id });
  return inserted.length > 0;
}
