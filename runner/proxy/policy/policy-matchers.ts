import { canonicalToolType } from "./canonical-tool-type.ts";
import type { PolicyMatch } from "./endpoint-policy.ts";

/**
 * The building blocks of the endpoint tables: each returns a rule's `find`. They read the
 * parsed body and never change it, and they report where and what without quoting the
 * agent's content (a URL is reported by its scheme: it may carry what is being smuggled).
 */
type Body = Readonly<Record<string, unknown>>;
type Find = (body: Body) => PolicyMatch[];

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A top-level field whose value `describe` names (undefined = this value is fine). */
export function fieldWhere(
  name: string,
  grant: string,
  describe: (value: unknown) => string | undefined,
): Find {
  return (body) => {
    const value = body[name];
    if (value === undefined || value === null) return [];
    const found = describe(value);
    return found === undefined ? [] : [{ field: name, value: found, grant }];
  };
}

/** Any value counts (a non-empty list for arrays). */
export function presentValue(value: unknown): string | undefined {
  if (Array.isArray(value)) return value.length > 0 ? `${value.length} item(s)` : undefined;
  return typeof value === "object" ? "set" : JSON.stringify(value).slice(0, 40);
}

/** A string value outside `allowed`. */
export function valueOutside(allowed: readonly string[]): (value: unknown) => string | undefined {
  return (value) =>
    typeof value === "string" && allowed.includes(value) ? undefined : JSON.stringify(value).slice(0, 40);
}

/** Every entry of `tools` that `isClientTool` does not accept; the grant is its canonical type. */
export function toolsNotRunByClient(isClientTool: (tool: Record<string, unknown>) => boolean): Find {
  return (body) => {
    const tools = body.tools;
    if (!Array.isArray(tools)) return [];
    const found: PolicyMatch[] = [];
    tools.forEach((tool: unknown, i) => {
      if (isRecord(tool) && isClientTool(tool)) return;
      const type =
        isRecord(tool) && typeof tool.type === "string" ? tool.type : "(not an object with a type)";
      found.push({ field: `tools[${i}].type`, value: type, grant: canonicalToolType(type) });
    });
    return found;
  };
}

/** What a content block refers to that lives outside the request. */
export type BlockReference =
  { kind: "stored"; field: string } | { kind: "remote"; field: string; url: unknown };

/**
 * References a content block makes to something outside the request, in every wire
 * format (the shapes do not collide, so one reader serves all three endpoints):
 * - stored: a file kept by the provider (`file_id`, Anthropic `source.type: "file"`,
 *   `container_upload`), or a stored response (`item_reference`);
 * - remote: a URL the provider fetches (`image_url`, `file_url`, `source.type: "url"`).
 * `data:` URLs carry their content inline and are not references.
 */
export function readBlockReferences(block: Record<string, unknown>): BlockReference[] {
  const refs: BlockReference[] = [];
  const type = block.type;
  if (typeof block.file_id === "string") refs.push({ kind: "stored", field: "file_id" });
  if (type === "file" && isRecord(block.file) && typeof block.file.file_id === "string")
    refs.push({ kind: "stored", field: "file.file_id" });
  if (type === "container_upload" || type === "item_reference") refs.push({ kind: "stored", field: "type" });
  if (typeof block.file_url === "string")
    refs.push({ kind: "remote", field: "file_url", url: block.file_url });
  if (typeof block.image_url === "string")
    refs.push({ kind: "remote", field: "image_url", url: block.image_url });
  if (type === "image_url" && isRecord(block.image_url))
    refs.push({ kind: "remote", field: "image_url.url", url: block.image_url.url });
  const source = block.source;
  if (isRecord(source)) {
    if (source.type === "file" || typeof source.file_id === "string")
      refs.push({ kind: "stored", field: "source.file_id" });
    if (source.type === "url") refs.push({ kind: "remote", field: "source.url", url: source.url });
  }
  return refs.filter((r) => r.kind === "stored" || !(typeof r.url === "string" && r.url.startsWith("data:")));
}

/** Where an Anthropic-style tool call keeps its arguments: the agent's own data, not content blocks. */
const toolCallTypes = new Set(["tool_use", "server_tool_use", "mcp_tool_use"]);

interface WalkEntry {
  value: object;
  parent: WalkEntry | undefined;
  step: string;
}

interface FoundReference {
  ref: BlockReference;
  block: Record<string, unknown>;
  at: WalkEntry;
}

/** One walk per body and set of roots, shared by the rules that read it (stored and remote). */
const walks = new WeakMap<object, Map<string, FoundReference[]>>();

/**
 * Every block under the top-level fields `roots` (messages, input, system) that refers to
 * something outside the request. Walked with an explicit stack, so a deeply nested body
 * cannot overflow it, and tool-call arguments are skipped: a function's own `file_id`
 * argument is not a reference. Paths are only spelled out for what is found.
 */
function walkReferences(body: Body, roots: readonly string[]): FoundReference[] {
  const key = roots.join(",");
  let perBody = walks.get(body);
  const cached = perBody?.get(key);
  if (cached) return cached;
  const found: FoundReference[] = [];
  const stack: WalkEntry[] = [];
  for (const root of roots) {
    const value = body[root];
    if (typeof value === "object" && value !== null) stack.push({ value, parent: undefined, step: root });
  }
  for (let entry = stack.pop(); entry !== undefined; entry = stack.pop()) {
    const value = entry.value;
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i -= 1) {
        const item: unknown = value[i];
        if (typeof item === "object" && item !== null)
          stack.push({ value: item, parent: entry, step: `[${i}]` });
      }
      continue;
    }
    const block = value as Record<string, unknown>;
    for (const ref of readBlockReferences(block)) found.push({ ref, block, at: entry });
    const skipInput = typeof block.type === "string" && toolCallTypes.has(block.type);
    for (const name in block) {
      if (skipInput && name === "input") continue;
      const child = block[name];
      if (typeof child === "object" && child !== null)
        stack.push({ value: child, parent: entry, step: `.${name}` });
    }
  }
  if (!perBody) {
    perBody = new Map();
    walks.set(body, perBody);
  }
  perBody.set(key, found);
  return found;
}

/** A walk entry's path from the body's root, cut short past a length (a hostile nesting must stay cheap). */
function spellPath(entry: WalkEntry): string {
  const steps: string[] = [];
  let length = 0;
  for (let at: WalkEntry | undefined = entry; at !== undefined; at = at.parent) {
    steps.push(at.step);
    length += at.step.length;
  }
  steps.reverse();
  const path = steps.join("");
  return length <= maxPathLength
    ? path
    : `${path.slice(0, maxPathLength / 2)}…${path.slice(-maxPathLength / 2)}`;
}

const maxPathLength = 160;

/** Blocks under `roots` with references of `kind`, as matches of a rule that `grant` opens. */
export function blocksReferring(roots: readonly string[], kind: BlockReference["kind"], grant: string): Find {
  return (body) =>
    walkReferences(body, roots)
      .filter(({ ref }) => ref.kind === kind)
      .map(({ ref, block, at }) => ({
        field: `${spellPath(at)}.${ref.field}`,
        value:
          ref.kind === "remote"
            ? typeof ref.url === "string"
              ? `${/^([a-z][a-z0-9+.-]*):/i.exec(ref.url)?.[1] ?? "relative"} URL`
              : "not a URL"
            : ref.field === "type"
              ? String(block.type)
              : "file id",
        grant,
      }));
}
