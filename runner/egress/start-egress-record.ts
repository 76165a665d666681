import type { EgressContext } from "./egress-context.ts";
import type { EgressConnectionRecord } from "./egress-connection-record.ts";
import { egressRefusalText } from "./egress-refusal-text.ts";

/** What a handler learns of a connection; the run, kind, start and duration are filled in. */
export type EgressRecordFields = Omit<EgressConnectionRecord, "runId" | "kind" | "startedAt" | "durationMs">;

export interface EgressRecord {
  /** Hand the connection's record to ctx.finish, its duration measured now. */
  finish: (fields: EgressRecordFields) => void;
  /** Finish a connection that moved no bytes (refused, or the client left first). */
  finishWithoutBytes: (fields: Omit<EgressRecordFields, "bytesOut" | "bytesIn">) => void;
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
  const finishWithoutBytes: EgressRecord["finishWithoutBytes"] = (fields) =>
    finish({ ...fields, bytesOut: 0, bytesIn: 0 });
  return {
    finish,
    finishWithoutBytes,
    refuse: (status, reason, domain, port, address, askable) => {
      answer(status, egressRefusalText(requestLine, reason, askable ? domain : undefined));
      finishWithoutBytes({ domain, port, address, outcome: "refused", reason, status });
    },
  };
}
