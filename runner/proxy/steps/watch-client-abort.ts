import type { ServerResponse } from "node:http";
import type { CallRecord } from "../call-record.ts";

/** An abort signal for the upstream request that fires when the client hangs up before the answer ended. */
export function watchClientAbort(res: ServerResponse, call: CallRecord): AbortController {
  const abort = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) {
      call.clientAborted = true;
      abort.abort(new Error("client closed the connection"));
    }
  });
  return abort;
}
