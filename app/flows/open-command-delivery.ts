import { agentCatalog } from "../../core/agents/agent-catalog.ts";
import type { AirlockAppDeps } from "../airlock-app-deps.ts";
import type { WebhookDelivery } from "../handlers/webhook-delivery.ts";
import { parseAirlockCommand, type AirlockCommand } from "../text/parse-airlock-command.ts";
import { createDeliveryContext, type DeliveryFacts } from "./create-delivery-context.ts";
import type { DeliveryContext } from "./delivery-context.ts";

/**
 * A `*_comment.created` delivery: its `/airlock` command and the delivery's context, or
 * undefined for any other comment, which is ignored entirely (no record, no reply), so that
 * conversation — and Airlock's own comments — never trigger anything.
 */
export function openCommandDelivery(
  deps: AirlockAppDeps,
  delivery: WebhookDelivery,
  payload: Omit<DeliveryFacts, "action" | "installationId"> & {
    comment: { body?: string | null | undefined };
    installation: { id: number };
  },
): { command: AirlockCommand; ctx: DeliveryContext } | undefined {
  const catalog = deps.catalog ?? agentCatalog;
  const command = parseAirlockCommand(payload.comment.body ?? "", { agentIds: catalog.map((a) => a.id) });
  if (command === undefined) return undefined;
  const ctx = createDeliveryContext(deps, delivery, {
    action: "created",
    installationId: payload.installation.id,
    repository: payload.repository,
    sender: payload.sender,
  });
  return { command, ctx };
}
