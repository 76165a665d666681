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

/**
 * Every block under the top-level fields `roots` (messages, input, system) with references
 * of `kind`. Walked with an explicit stack, so a deeply nested body cannot overflow it, and
 * tool-call arguments are skipped: a function's own `file_id` argument is not a reference.
 */
export function blocksReferring(roots: readonly string[], kind: BlockReference["kind"], grant: string): Find {
  return (body) => {
    const found: PolicyMatch[] = [];
    const stack: Array<{ value: unknown; path: string }> = [];
    for (const root of roots) if (body[root] !== undefined) stack.push({ value: body[root], path: root });
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      const { value, path } = next;
      if (Array.isArray(value)) {
        for (let i = value.length - 1; i >= 0; i -= 1) {
          const item: unknown = value[i];
          if (typeof item === "object" && item !== null)
            stack.push({ value: item, path: extendPath(path, `[${i}]`) });
        }
        continue;
      }
      if (!isRecord(value)) continue;
      for (const ref of readBlockReferences(value)) {
        if (ref.kind !== kind) continue;
        const scheme =
          ref.kind === "remote"
            ? typeof ref.url === "string"
              ? `${/^([a-z][a-z0-9+.-]*):/i.exec(ref.url)?.[1] ?? "relative"} URL`
              : "not a URL"
            : ref.field === "type"
              ? String(value.type)
              : "file id";
        found.push({ field: `${path}.${ref.field}`, value: scheme, grant });
      }
      const skipInput = typeof value.type === "string" && toolCallTypes.has(value.type);
      for (const [key, child] of Object.entries(value)) {
        if (skipInput && key === "input") continue;
        if (typeof child === "object" && child !== null)
          stack.push({ value: child, path: extendPath(path, `.${key}`) });
      }
    }
    return found;
  };
}

/** Paths stop growing past a length: a hostile nesting must not cost memory per level. */
const maxPathLength = 160;

function extendPath(path: string, step: string): string {
  if (path.length >= maxPathLength) return path.endsWith("…") ? path : `${path}…`;
  return path + step;
}
