import type { IncomingHttpHeaders } from "node:http";
import type { ProxyContext } from "../proxy-context.ts";
import type { StepResult } from "../proxy-refusal.ts";
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
 * Step 4b. Decide whether the request may leave the sandbox, and in what form (issue 9
 * §1-3: what reaches outside the sandbox or costs money is refused without a grant).
 * Today every parsed request is forwarded as it came.
 */
export function applyRequestPolicy(_ctx: ProxyContext, input: RequestPolicyInput): RequestPolicyDecision {
  return { ok: true, request: input.request, rewritten: false };
}
