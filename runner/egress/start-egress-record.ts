import { checkEgressTarget } from "./check-egress-target.ts";
import type { EgressContext } from "./egress-context.ts";
import type { EgressConnectionRecord } from "./egress-connection-record.ts";
import { egressRefusalText } from "./egress-refusal-text.ts";
import type { EgressTarget } from "./parse-egress-target.ts";

/** What a handler learns of a connection; the run, kind, start and duration are filled in. */
export type EgressRecordFields = Omit<EgressConnectionRecord, "runId" | "kind" | "startedAt" | "durationMs">;

export interface EgressRecord {
  /** Hand the connection's record to ctx.finish, its duration measured now. */
  finish: (fields: EgressRecordFields) => void;
  /**
   * Answer a refusal before any upstream was opened and record it. Only a refusal the
   * run could ask a grant for (`askable`) names the domain to ask for.
   */
  refuse: (
    status: number,
    reason: string,
    domain: string,
    port: number | null,
    address: string | null,
    askable: boolean,
  ) => void;
  /** checkEgressTarget for this kind: the address to connect to, or undefined once refused. */
  checkTarget: (target: EgressTarget) => Promise<string | undefined>;
  /** Finish a connection whose client left before anything was sent upstream. */
  finishClientLeft: (target: EgressTarget, address: string, reason: string) => void;
}

/**
 * Start the record of one egress connection, CONNECT tunnel or plain HTTP alike, so both
 * record and refuse the same way. `requestLine` names the request in a refusal's text;
 * `answer` writes a status and text to the client in the handler's own way.
 */
export function startEgressRecord(
  ctx: EgressContext,
  kind: EgressConnectionRecord["kind"],
  requestLine: string,
  answer: (status: number, text: string) => void,
): EgressRecord {
  const startedAt = new Date();
  const finish = (fields: EgressRecordFields) =>
    ctx.finish({
      runId: ctx.runId,
      kind,
      startedAt,
      domain: fields.domain,
      port: fields.port,
      address: fields.address,
      bytesOut: fields.bytesOut,
      bytesIn: fields.bytesIn,
      durationMs: Date.now() - startedAt.getTime(),
      outcome: fields.outcome,
      reason: fields.reason,
      status: fields.status,
    });
  /** A connection that moved no bytes: refused, or the client left first. */
  const finishWithoutBytes = (fields: Omit<EgressRecordFields, "bytesOut" | "bytesIn">) =>
    finish({ ...fields, bytesOut: 0, bytesIn: 0 });
  const refuse: EgressRecord["refuse"] = (status, reason, domain, port, address, askable) => {
    answer(status, egressRefusalText(requestLine, reason, askable ? domain : undefined));
    finishWithoutBytes({ domain, port, address, outcome: "refused", reason, status });
  };
  return {
    finish,
    refuse,
    checkTarget: async (target) => {
      const checked = await checkEgressTarget(ctx, kind, target);
      if (checked.ok) return checked.address;
      refuse(checked.status, checked.reason, target.host, target.port, checked.address, checked.askable);
      return undefined;
    },
    finishClientLeft: (target, address, reason) =>
      finishWithoutBytes({
        domain: target.host,
        port: target.port,
        address,
        outcome: "closed",
        reason,
        status: 0,
      }),
  };
}
