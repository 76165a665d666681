import { defaultRepoConfig } from "../../core/repo-config/default-repo-config.ts";
import { parseRepoConfig } from "../../core/repo-config/parse-repo-config.ts";
import { renderBotRefusal } from "../messages/render-bot-refusal.ts";
import { renderHelp } from "../messages/render-help.ts";
import { isDeliveryRecorded } from "../runs/is-delivery-recorded.ts";
import { configPath } from "./admit-sender.ts";
import type { DeliveryContext } from "./delivery-context.ts";
import { sendRefusal } from "./send-refusal.ts";

/** `/airlock help` (or a bare `/airlock`): usage and the agents this repository allows. */
export async function answerHelp(ctx: DeliveryContext, replyTo: number): Promise<void> {
  if (await isDeliveryRecorded(ctx.deps.db, ctx.delivery.id)) {
    ctx.log.info("duplicate delivery");
    return;
  }
  if (ctx.sender.type === "Bot") {
    await sendRefusal(ctx, replyTo, renderBotRefusal(ctx.sender.login), "bot sender");
    return;
  }
  const agentIds = ctx.catalog.map((a) => a.id);
  const parsed = parseRepoConfig(await ctx.github.readFile(ctx.repo, configPath), { agentIds });
  const agents = parsed.ok ? parsed.config.agents : defaultRepoConfig(agentIds).agents;
  // Anyone may ask for help, so it waits its turn like a refusal.
  await sendRefusal(ctx, replyTo, renderHelp(ctx.sender.login, agents), "help");
}
