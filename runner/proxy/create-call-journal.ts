import { randomUUID } from "node:crypto";
import { closeSync, ftruncateSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { join } from "node:path";

/**
 * One line of a call journal: what recover-call-journals.ts needs to record a call whose
 * proxy stopped before it ended. Short keys: the line is written on the hot path.
 */
export interface JournaledCall {
  /** The call key; the llm_calls row's call_key. */
  k: string;
  runId: string;
  attempt: number;
  endpoint: string;
  model: string | null;
  provider: string;
  /** The call's reservation: tokens and cost units (1e-10 USD). */
  tokens: number;
  units: number;
  /** ISO time the request arrived. */
  at: string;
}

export interface CallJournal {
  /** Append the call's line before it is forwarded; returns its call key. */
  open(call: Omit<JournaledCall, "k">): string;
  /** These calls' rows are committed (or refused for good): their lines are obsolete. */
  settle(keys: readonly string[]): void;
  /** Calls journaled and not settled. */
  readonly unsettled: number;
  readonly path: string;
  /** Close the file; removed when every call in it is settled, kept for recovery otherwise. */
  close(): void;
}

export interface CallJournalOptions {
  /** `<dataDir>/call-journal`: never inside a run's workspace or anything mounted into a container. */
  dir: string;
  /** The file is rewritten with only its unsettled lines once it passes this size (default 1 MiB). */
  maxBytes?: number;
}

/** The runner's (or `airlock proxy`'s) journals: host-side, beside `runs/` and `sockets/`, never mounted. */
export function locateCallJournalDir(dataDir: string): string {
  return join(dataDir, "call-journal");
}

/** `<pid>-<random>.jsonl`: recovery reads the writer's pid from the name (recover-call-journals.ts). */
export const journalFileName = /^(\d+)-[0-9a-z-]+\.jsonl$/;

function openJournalFile(dir: string): { path: string; fd: number } {
  const path = join(dir, `${process.pid}-${randomUUID()}.jsonl`);
  // "a": O_WRONLY | O_APPEND | O_CREAT; 0600: the lines name runs and models.
  return { path, fd: openSync(path, "a", 0o600) };
}

/**
 * A write-ahead journal of the calls in flight in one proxy (issue 13 §4: calls recorded
 * == calls served). A call's line is appended just before it is forwarded; its llm_calls
 * row carries the same key. If the process is killed before the row is committed, a
 * later runner or `airlock proxy` on this host records the call from its line, charging
 * its whole reservation (issue 9: the real usage cannot be known).
 *
 * Each line is one synchronous write(2) on a descriptor held open with O_APPEND, and no
 * fsync: a SIGKILL or a crash of the process keeps what the kernel has, a power loss or a
 * kernel crash may lose the last lines (and their calls stay off the record). The hot path
 * pays one syscall, no database round trip.
 *
 * Compaction: lines of settled calls are obsolete. When no call is unsettled the file is
 * truncated; when it passes maxBytes with calls still open, the open lines are written to
 * a fresh file, which then replaces it by a rename, so every open line is always in
 * the file).
 */
export function createCallJournal(options: CallJournalOptions): CallJournal {
  const maxBytes = options.maxBytes ?? 1024 * 1024;
  mkdirSync(options.dir, { recursive: true, mode: 0o700 });
  let file = openJournalFile(options.dir);
  let bytes = 0;
  const open = new Map<string, string>();
  // Keys are this journal's random id and a sequence number: unique across processes and
  // restarts like a UUID per call, without drawing random bytes on the hot path.
  const keyPrefix = `${randomUUID()}.`;
  let sequence = 0;

  function rewrite(): void {
    const next = openJournalFile(options.dir);
    let written = 0;
    for (const line of open.values()) written += writeSync(next.fd, line);
    // The fresh file replaces the old one in one step, under the old name.
    renameSync(next.path, file.path);
    closeSync(file.fd);
    file = { path: file.path, fd: next.fd };
    bytes = written;
  }

  return {
    open(call) {
      sequence += 1;
      const k = keyPrefix + String(sequence);
      const line = `{"k":"${k}",${JSON.stringify(call).slice(1)}\n`;
      bytes += writeSync(file.fd, line);
      open.set(k, line);
      return k;
    },
    settle(keys) {
      for (const key of keys) open.delete(key);
      if (bytes === 0) return;
      if (open.size === 0) {
        ftruncateSync(file.fd, 0);
        bytes = 0;
      } else if (bytes > maxBytes) {
        rewrite();
      }
    },
    get unsettled() {
      return open.size;
    },
    get path() {
      return file.path;
    },
    close() {
      closeSync(file.fd);
      if (open.size === 0) unlinkSync(file.path);
    },
  };
}
