import { eq } from "drizzle-orm";
import type { Db } from "../../core/db/open-database.ts";
import { webhookDeliveries } from "../../core/db/schema.ts";

/** A cheap early check; the insert that records a delivery is still conflict-guarded. */
export async function isDeliveryRecorded(db: Db, deliveryId: string): Promise<boolean> {
  const [row] = await db
    .select({ id: webhookDeliveries.id })
    .from(webhookDeliveries)
    .where(eq(webhookDeliveries.id, deliveryId));
  return row !== undefined;
}
