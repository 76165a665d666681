import { agentCatalog } from "../../../core/agents/agent-catalog.ts";
import type { AgentDefinition } from "../../../core/agents/agent-definition.ts";
import { isRecord } from "./policy-matchers.ts";

/**
 * The models a run may call (issue 9 §2): its own model, its agent's default model, the
 * model its repository config names, and the operator's AIRLOCK_ALLOWED_MODELS. A manual
 * run (`airlock token`) has no agent and no model: it is the operator's own, and may call
 * any model unless the operator set AIRLOCK_ALLOWED_MODELS, which then binds it too.
 */
export type ModelAllowList = { kind: "any" } | { kind: "listed"; patterns: readonly string[] };

export interface RunModelFacts {
  kind: string;
  agent: string | null;
  model: string | null;
  repoConfig: unknown;
}

export function readModelAllowList(
  run: RunModelFacts,
  operatorPatterns: readonly string[],
  catalog: readonly AgentDefinition[] = agentCatalog,
): ModelAllowList {
  const patterns = new Set(operatorPatterns);
  if (run.model) patterns.add(run.model);
  const agent = run.agent === null ? undefined : catalog.find((a) => a.id === run.agent);
  if (agent) patterns.add(agent.defaultModel);
  // repoConfig is the validated RepoConfig as stored; read the one field, do not trust the rest.
  if (isRecord(run.repoConfig) && typeof run.repoConfig.model === "string")
    patterns.add(run.repoConfig.model);
  const ownsNothing = run.kind === "manual" && run.agent === null && run.model === null;
  if (ownsNothing && operatorPatterns.length === 0) return { kind: "any" };
  return { kind: "listed", patterns: [...patterns] };
}

const snapshotSuffix = /^-([0-9]{4}-?[0-9]{2}-?[0-9]{2}|latest)$/;

/**
 * A pattern is a model id (which also admits its dated snapshots and `-latest`, as the
 * price table does), or a glob with `*` (`claude-*`).
 */
export function matchesModelPattern(pattern: string, model: string): boolean {
  if (pattern === model) return true;
  if (!pattern.includes("*"))
    return model.startsWith(pattern) && snapshotSuffix.test(model.slice(pattern.length));
  const parts = pattern.split("*").map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  return new RegExp(`^${parts.join(".*")}$`).test(model);
}

export function isModelAllowed(list: ModelAllowList, model: string): boolean {
  return list.kind === "any" || list.patterns.some((p) => matchesModelPattern(p, model));
}
