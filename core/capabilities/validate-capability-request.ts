import { z } from "zod";
import {
  capabilityKinds,
  type CapabilityCheck,
  type CapabilityKind,
  type CapabilitySpec,
} from "./capability-kinds.ts";
import { checkAptPackage } from "./check-apt-package.ts";
import { checkLlmTool } from "./check-llm-tool.ts";
import { checkNetworkDomain } from "./check-network-domain.ts";
import { checkNpmPackage } from "./check-npm-package.ts";
import { checkPipPackage } from "./check-pip-package.ts";
import { cleanCapabilityReason } from "./clean-capability-reason.ts";

/** A request as the agent sends it: `POST /airlock/v1/capabilities {kind, name, version?, reason}`. */
export const capabilityRequestBodySchema = z.strictObject({
  kind: z.enum(capabilityKinds),
  name: z.string().max(300),
  version: z.string().max(100).optional(),
  reason: z.string().max(10_000),
});

/** A request that passed every rule: name normalised, reason cleaned. */
export interface CapabilityRequestInput extends CapabilitySpec {
  reason: string;
}

const checks: Record<
  CapabilityKind,
  (name: string, version: string | undefined) => CapabilityCheck<{ name: string; version?: string }>
> = {
  apt: checkAptPackage,
  npm: checkNpmPackage,
  pip: checkPipPackage,
  network: checkNetworkDomain,
  "llm-tool": checkLlmTool,
};

/** Check the spec alone (kind, name, version): what capabilities.yml and `--grant` give too. */
export function validateCapabilitySpec(spec: {
  kind: CapabilityKind;
  name: string;
  version?: string | undefined;
}): CapabilityCheck<{ spec: CapabilitySpec }> {
  const checked = checks[spec.kind](spec.name, spec.version);
  if (!checked.ok) return checked;
  return {
    ok: true,
    spec: {
      kind: spec.kind,
      name: checked.name,
      ...(checked.version !== undefined ? { version: checked.version } : {}),
    },
  };
}

/**
 * Validate a capability request (issue 10 §1): the body's shape with zod, then each kind's
 * rules. A refusal names the field and says why and what to ask instead.
 */
export function validateCapabilityRequest(
  body: unknown,
): CapabilityCheck<{ request: CapabilityRequestInput }> {
  const parsed = capabilityRequestBodySchema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path[0];
    const known = field === "kind" || field === "name" || field === "version" || field === "reason";
    const reason =
      field === "kind"
        ? `kind must be one of ${capabilityKinds.join(", ")}`
        : issue?.code === "unrecognized_keys"
          ? `unknown field(s) ${issue.keys.join(", ")}: the request is {kind, name, version?, reason}`
          : `${known ? String(field) : "the body"}: ${issue?.message ?? "invalid"}; the request is {kind, name, version?, reason}, all strings`;
    return { ok: false, field: known ? field : "body", reason };
  }
  const { kind, name, version, reason } = parsed.data;
  const spec = validateCapabilitySpec({ kind, name, version });
  if (!spec.ok) return spec;
  const cleaned = cleanCapabilityReason(reason);
  if (!cleaned.ok) return cleaned;
  return { ok: true, request: { ...spec.spec, reason: cleaned.reason } };
}
