import { parseRepoConfig, type RepoConfigProblem } from "../../core/repo-config/parse-repo-config.ts";
import type { PermissionLevel } from "../../core/repo-config/permission-levels.ts";
import { DEFAULT_MIN_PERMISSION } from "../../core/repo-config/repo-config-schema.ts";
import type { RepoConfig } from "../../core/repo-config/repo-config.ts";
import { createRoleLookup } from "../decide/create-role-lookup.ts";
import { judgeSender } from "../decide/judge-sender.ts";
import { renderBotRefusal } from "../messages/render-bot-refusal.ts";
import { renderConfigProblems } from "../messages/render-config-problems.ts";
import { renderPermissionRefusal } from "../messages/render-permission-refusal.ts";
import type { RepoRole } from "../../core/github/github-api.ts";
import type { DeliveryContext } from "./delivery-context.ts";
import { replyOnce } from "./reply-once.ts";
import { sendRefusal } from "./send-refusal.ts";

export type Admission =
  | { admitted: true; config: RepoConfig; roleOf: (login: string) => Promise<RepoRole> }
  | { admitted: true; config: undefined; problems: RepoConfigProblem[]; minPermission: PermissionLevel }
  | { admitted: false };

export const configPath = ".github/airlock.yml";

/**
 * Who may act, and under which configuration. `.github/airlock.yml` is read from the default
 * branch (a pull request cannot loosen it). Bots and senders below `min_permission` get a
 * reply through the refusal desk and nothing else; their text is not used. An invalid file refuses the request with
 * its problems listed unless the caller can do without it (`/airlock stop` must always work).
 */
export async function admitSender(
  ctx: DeliveryContext,
  replyTo: number,
  options: { needConfig: boolean },
): Promise<Admission> {
  if (ctx.sender.type === "Bot") {
    await sendRefusal(ctx, replyTo, renderBotRefusal(ctx.sender.login), "bot sender");
    return { admitted: false };
  }
  const parsed = parseRepoConfig(await ctx.github.readFile(ctx.repo, configPath), {
    agentIds: ctx.catalog.map((a) => a.id),
  });
  // An invalid file cannot lower the bar: the default level applies.
  const required = parsed.ok ? parsed.config.minPermission : DEFAULT_MIN_PERMISSION;
  const roleOf = createRoleLookup(ctx.github, ctx.repo);
  const role = await roleOf(ctx.sender.login);
  if (judgeSender(ctx.sender, role, required) !== "allowed") {
    ctx.log.info({ sender: ctx.sender.login, role, required }, "sender below the required permission");
    await sendRefusal(ctx, replyTo, renderPermissionRefusal(ctx.sender.login, required), "permission");
    return { admitted: false };
  }
  if (parsed.ok) {
    for (const warning of parsed.warnings) ctx.log.warn({ warning }, "repository configuration warning");
    return { admitted: true, config: parsed.config, roleOf };
  }
  ctx.log.info({ problems: parsed.problems.map((p) => p.key) }, "invalid repository configuration");
  if (options.needConfig) {
    await replyOnce(ctx, replyTo, renderConfigProblems(ctx.sender.login, parsed.problems), "invalid config");
    return { admitted: false };
  }
  return { admitted: true, config: undefined, problems: parsed.problems, minPermission: required };
}
