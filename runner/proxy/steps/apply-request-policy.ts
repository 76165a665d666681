import type { IncomingHttpHeaders } from "node:http";
import { checkModelPolicy } from "../policy/check-model-policy.ts";
import { checkRequestBody } from "../policy/check-request-body.ts";
import { describePolicyRefusal } from "../policy/describe-policy-refusal.ts";
import { endpointPolicies } from "../policy/endpoint-policies.ts";
import type { ProxyContext } from "../proxy-context.ts";
import { refuse, type StepResult } from "../proxy-refusal.ts";
import type { ProxyRoute } from "../proxy-routes.ts";
import type { RunAccount } from "../run-ledger.ts";
import type { ParsedRequest } from "./parse-request-body.ts";

/** What the request policy sees: the whole request as the client sent it, and the run it is for. */
export interface RequestPolicyInput {
  route: ProxyRoute;
  path: string;
  /** The query string, with its leading `?`, or "". */
  query: string;
  headers: IncomingHttpHeaders;
  /** Undefined for routes without a body (GET /v1/models). */
  request: ParsedRequest | undefined;
  account: RunAccount;
}

/**
 * The policy's decision: refuse (nothing is forwarded), or forward `request`. When
 * `rewritten` is true the proxy forwards `request.json` re-serialized instead of the
 * client's bytes.
 */
export type RequestPolicyDecision = StepResult<{ request: ParsedRequest | undefined; rewritten: boolean }>;

/**
 * Step 4b. Decide whether the request may leave the sandbox (issue 9 §1-2): the model
 * must be one the run may call (and priced, under a USD budget), and the body must hold
 * nothing its endpoint's table refuses (runner/proxy/policy/) unless the run holds the
 * grant. Headers are filtered where they are built (build-upstream-headers.ts).
 *
 * A body that passes is forwarded as the proxy serialized it, not as the client's bytes:
 * the upstream then parses exactly the object the policy checked, so no parser difference
 * (a duplicate key the provider would read first-wins, say) can carry a refused field
 * past it. For the JSON the SDKs and agent CLIs send, the two are byte-identical.
 */
export function applyRequestPolicy(ctx: ProxyContext, input: RequestPolicyInput): RequestPolicyDecision {
  const { request, account, route } = input;
  if (!request) return { ok: true, request, rewritten: false };
  const model = checkModelPolicy(
    request.model,
    account.models,
    ctx.prices,
    route.billable && account.budgetUnits !== undefined,
  );
  if (!model.ok) return refuse(403, "policy", `model_${model.reason}`, model.message);
  const policy = endpointPolicies[`POST ${input.path}`];
  if (!policy) {
    return refuse(
      403,
      "policy",
      "request_policy",
      `POST ${input.path} has no request policy; nothing was sent`,
    );
  }
  const findings = checkRequestBody(policy, request.json, account.grants);
  if (findings.length > 0) return refuse(403, "policy", "request_policy", describePolicyRefusal(findings));
  return { ok: true, request, rewritten: true };
}
