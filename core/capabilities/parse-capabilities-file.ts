import { isMap, isSeq, parseDocument } from "yaml";
import { AirlockError } from "../errors.ts";
import {
  capabilitiesFileEntrySchema,
  capabilitiesFilePath,
  type CapabilitiesFileEntry,
} from "./capabilities-file-entry.ts";
import { checkExactVersion } from "./check-exact-version.ts";
import { cleanCapabilityReason } from "./clean-capability-reason.ts";
import { validateCapabilitySpec } from "./validate-capability-request.ts";

/** A capabilities.yml that cannot be used; the message names the entry and the field. */
export class CapabilitiesFileError extends AirlockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("capabilities_file_invalid", `${capabilitiesFilePath}: ${message}`, options);
    this.name = "CapabilitiesFileError";
  }
}

/**
 * Parse `.github/airlock/capabilities.yml` (read from a branch: untrusted until checked).
 * Each entry is checked with the same rules as an agent's request (kind, name, version),
 * and its reason cleaned; names come back normalised. An empty file has no entries. A
 * malformed file throws CapabilitiesFileError naming the entry (`capabilities[2]`, with its
 * kind and name when readable) and the field.
 */
export function parseCapabilitiesFile(text: string): CapabilitiesFileEntry[] {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError)
    throw new CapabilitiesFileError(`not valid YAML: ${yamlError.message}`, { cause: yamlError });
  if (doc.contents === null) return [];
  if (!isMap(doc.contents))
    throw new CapabilitiesFileError("the file must be a mapping with a `capabilities:` list");
  const extra = doc.contents.items
    .map((pair) => String((pair.key as { value?: unknown })?.value ?? pair.key))
    .filter((k) => k !== "capabilities");
  if (extra.length > 0)
    throw new CapabilitiesFileError(
      `unknown top-level key(s) ${extra.join(", ")}; only \`capabilities:\` is read`,
    );
  const list = doc.contents.get("capabilities", true);
  if (list === undefined || list === null || (list as { value?: unknown }).value === null) return [];
  if (!isSeq(list)) throw new CapabilitiesFileError("`capabilities:` must be a list of entries");
  const raw = list.toJSON() as unknown[];
  return raw.map((item, index) => parseEntry(item, index));
}

function parseEntry(item: unknown, index: number): CapabilitiesFileEntry {
  const label = describeEntry(item, index);
  const parsed = capabilitiesFileEntrySchema.safeParse(item);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue?.path.length ? issue.path.join(".") : undefined;
    const hint =
      field === "version" && issue?.code === "invalid_type"
        ? '; quote it (version: "1.10"), or YAML reads it as a number'
        : "";
    const what =
      issue?.code === "unrecognized_keys"
        ? `unknown field(s) ${issue.keys.join(", ")}`
        : `${field ?? "the entry"}: ${issue?.message ?? "invalid"}`;
    throw new CapabilitiesFileError(`${label}: ${what}${hint}`, { cause: parsed.error });
  }
  const entry = parsed.data;
  // The name by the agent's rules; the version is the exact one the host resolved.
  const spec = validateCapabilitySpec({ kind: entry.kind, name: entry.name });
  if (!spec.ok) throw new CapabilitiesFileError(`${label}.${spec.field}: ${spec.reason}`);
  const version = entry.version === undefined ? undefined : checkExactVersion(entry.kind, entry.version);
  if (version && !version.ok) throw new CapabilitiesFileError(`${label}.version: ${version.reason}`);
  const reason = cleanCapabilityReason(entry.reason);
  if (!reason.ok) throw new CapabilitiesFileError(`${label}.reason: ${reason.reason}`);
  if (entry.state !== "pending" && entry.decided_by === undefined) {
    throw new CapabilitiesFileError(`${label}.decided_by: a ${entry.state} entry says who decided it`);
  }
  return {
    ...entry,
    name: spec.spec.name,
    ...(version ? { version: version.version } : {}),
    reason: reason.reason,
  };
}

function describeEntry(item: unknown, index: number): string {
  const base = `capabilities[${index}]`;
  if (typeof item !== "object" || item === null) return base;
  const { kind, name } = item as { kind?: unknown; name?: unknown };
  return typeof kind === "string" && typeof name === "string"
    ? `${base} (${kind}:${name.slice(0, 80)})`
    : base;
}
