import type { ProxyRoute } from "./proxy-routes.ts";
import type { AdmissionTicket } from "./run-admission.ts";
import type { Reservation, RunAccount } from "./run-ledger.ts";
import type { ProxyErrorKind } from "./send-provider-error.ts";
import { emptyUsage, type Usage } from "./usage.ts";

/** What is known of a request when it arrives. */
export interface CallStart {
  account: RunAccount;
  route: ProxyRoute;
  path: string;
  token: string;
  startedAt: Date;
  startedPerf: number;
}

/** One request's record, filled in by the steps as it goes and written once at the end. */
export interface CallRecord extends CallStart {
  provider: string;
  model: string | undefined;
  stream: boolean;
  status: number;
  error: string | undefined;
  /** The proxy's own refusal kind, when it answered instead of the upstream. */
  refusal: ProxyErrorKind | undefined;
  /** The proxy cut the stream because the run passed its hard budget ceiling. */
  cutAtCeiling: boolean;
  ttfbMs: number | undefined;
  usage: Usage;
  /** The provider declared the call's final usage (issue 9 §3: otherwise the reservation is charged). */
  usageFinal: boolean;
  clientAborted: boolean;
  attempts: number;
  requestBody: string | undefined;
  responseBody: string | undefined;
  reservation: Reservation | undefined;
  /** The run's request slot and body bytes; released when the call is recorded. */
  admission: AdmissionTicket | undefined;
  /** Its line in the call journal, written just before it was forwarded (create-call-journal.ts). */
  callKey: string | undefined;
}

export function startCallRecord(start: CallStart): CallRecord {
  return {
    ...start,
    provider: "none",
    model: undefined,
    stream: false,
    status: 0,
    error: undefined,
    refusal: undefined,
    cutAtCeiling: false,
    ttfbMs: undefined,
    usage: emptyUsage(start.route.format === "openai"),
    usageFinal: false,
    clientAborted: false,
    attempts: 0,
    requestBody: undefined,
    responseBody: undefined,
    reservation: undefined,
    admission: undefined,
    callKey: undefined,
  };
}
