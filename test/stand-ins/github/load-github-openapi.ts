import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { OpenAPIBackend } from "openapi-backend";
import { implementedOperations } from "./github-operations.ts";

/** One route GitHub documents, matched like openapi-backend matches: literal segments win. */
export type DocumentedRoute = {
  method: string;
  template: string;
  operationId: string;
  pattern: RegExp;
  literalLength: number;
};

export type GitHubOpenApi = {
  /** openapi-backend over the implemented operations only (plus the components they use). */
  backend: OpenAPIBackend;
  /** Every method + path template in GitHub's description, most specific first. */
  documented: DocumentedRoute[];
  /**
   * Checks a webhook payload against the description's `x-webhooks` schema for
   * `<event>-<action>` (e.g. "issues-labeled"); undefined when GitHub documents none.
   */
  validateWebhookPayload(
    event: string,
    action: string | undefined,
    payload: unknown,
  ): Promise<string[] | undefined>;
  /** Milliseconds spent reading and parsing the description, and building the backend. */
  timings: { parseMs: number; initMs: number };
};

type JsonObject = { [key: string]: unknown };
const methods = ["get", "put", "post", "delete", "patch", "head", "options", "trace"];

/**
 * Parsing the 13 MB description costs a few hundred milliseconds; every stand-in in a test
 * process shares one parse and one compiled backend. The backend holds no per-stand-in
 * state: handlers receive the stand-in through openapi-backend's context arguments.
 */
let cached: Promise<GitHubOpenApi> | undefined;

export function loadGitHubOpenApi(): Promise<GitHubOpenApi> {
  cached ??= buildGitHubOpenApi();
  return cached;
}

async function buildGitHubOpenApi(): Promise<GitHubOpenApi> {
  const started = performance.now();
  const require = createRequire(import.meta.url);
  const specPath = require.resolve("@octokit/openapi/generated/api.github.com.json");
  const spec = JSON.parse(await readFile(specPath, "utf8")) as JsonObject;
  const parseMs = performance.now() - started;

  const paths = spec.paths as Record<string, JsonObject>;
  const documented: DocumentedRoute[] = [];
  const subsetPaths: Record<string, JsonObject> = {};
  const wanted = new Set(Object.keys(implementedOperations));
  for (const [template, item] of Object.entries(paths)) {
    for (const method of methods) {
      const operation = item[method] as JsonObject | undefined;
      if (operation === undefined) continue;
      const operationId = String(operation.operationId);
      documented.push({
        method,
        template,
        operationId,
        pattern: templateToPattern(template),
        literalLength: template.replace(/\{[^}]+\}/g, "").length,
      });
      if (wanted.has(operationId)) {
        const subsetItem = (subsetPaths[template] ??= pickPathLevel(item));
        subsetItem[method] = operation;
        wanted.delete(operationId);
      }
    }
  }
  if (wanted.size > 0) {
    throw new Error(
      `github-operations.ts names operations GitHub does not document: ${[...wanted].join(", ")}`,
    );
  }
  documented.sort((a, b) => b.literalLength - a.literalLength);

  const components = collectReferencedComponents(spec, subsetPaths);
  const definition = structuredClone({
    openapi: spec.openapi,
    info: spec.info,
    servers: [{ url: "/" }],
    paths: subsetPaths,
    components,
  });
  const formats = new Set<string>();
  adaptSchemasForAjv(definition, formats);
  const initStarted = performance.now();
  const backend = await startValidatingBackend(definition, formats);
  // Built on the first delivery: most of its cost is copying the large webhook schemas.
  let webhookBackend: Promise<{ backend: OpenAPIBackend; knownKeys: Set<string> }> | undefined;
  const validateWebhookPayload = async (event: string, action: string | undefined, payload: unknown) => {
    webhookBackend ??= buildWebhookBackend(spec, formats);
    const { backend: hooks, knownKeys } = await webhookBackend;
    const key = `${event}${action === undefined ? "" : `-${action}`}`.replace(/_/g, "-");
    if (!knownKeys.has(key)) return undefined;
    const result = hooks.validateRequest(
      {
        method: "post",
        path: `/webhooks/${key}`,
        headers: { "content-type": "application/json" },
        body: payload,
      },
      `webhook/${key}`,
    );
    return result.valid
      ? []
      : (result.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? e.keyword}`);
  };
  return {
    backend,
    documented,
    validateWebhookPayload,
    timings: { parseMs, initMs: performance.now() - initStarted },
  };
}

/** The same machinery for webhook payloads: one POST route per documented `x-webhooks` entry. */
async function buildWebhookBackend(
  spec: JsonObject,
  formats: Set<string>,
): Promise<{ backend: OpenAPIBackend; knownKeys: Set<string> }> {
  const hooks = (spec["x-webhooks"] ?? {}) as Record<string, { post?: JsonObject }>;
  const paths: Record<string, JsonObject> = {};
  for (const [key, item] of Object.entries(hooks)) {
    const requestBody = item.post?.requestBody;
    if (requestBody === undefined) continue;
    paths[`/webhooks/${key}`] = {
      post: { operationId: `webhook/${key}`, requestBody, responses: { 200: { description: "ok" } } },
    };
  }
  const definition = structuredClone({
    openapi: spec.openapi,
    info: spec.info,
    paths,
    components: collectReferencedComponents(spec, paths),
  });
  adaptSchemasForAjv(definition, formats);
  const backend = await startValidatingBackend(definition, formats);
  return { backend, knownKeys: new Set(Object.keys(hooks)) };
}

/**
 * GitHub's description writes `nullable: true` beside `allOf`/`anyOf`/`$ref` without a
 * `type`, which Ajv refuses to compile; the same meaning is "that schema, or null".
 */
function adaptSchemasForAjv(node: unknown, formats: Set<string>): void {
  if (Array.isArray(node)) {
    for (const child of node) adaptSchemasForAjv(child, formats);
    return;
  }
  if (node === null || typeof node !== "object") return;
  const object = node as JsonObject;
  if (typeof object.format === "string" && typeof object.type === "string") formats.add(object.format);
  for (const value of Object.values(object)) adaptSchemasForAjv(value, formats);
  // The inlined installation in `GET /app/installations` says the account is a user AND an
  // enterprise (`allOf`); the `installation` component, and GitHub's answers, say either.
  const titles = Array.isArray(object.allOf) ? (object.allOf as JsonObject[]).map((s) => s.title) : [];
  if (titles.length === 2 && titles.includes("Simple User") && titles.includes("Enterprise")) {
    object.anyOf = object.allOf;
    delete object.allOf;
  }
  if (object.nullable === true && Array.isArray(object.enum) && !object.enum.includes(null)) {
    object.enum = [...(object.enum as unknown[]), null];
  }
  if (object.nullable === true && object.type === undefined) {
    const rest: JsonObject = { ...object };
    delete rest.nullable;
    for (const key of Object.keys(object)) delete object[key];
    object.anyOf = [rest, { enum: [null] }];
  }
}

/** Formats GitHub uses; the ones a client could plausibly get wrong are checked. */
function formatCheck(format: string): (value: string) => boolean {
  if (format === "date-time") {
    return (value) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value);
  }
  if (format === "uri") return (value) => URL.canParse(value);
  return () => true;
}

function pickPathLevel(item: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(item)) if (!methods.includes(key)) out[key] = value;
  return out;
}

function templateToPattern(template: string): RegExp {
  const escaped = template
    .split(/\{[^}]+\}/)
    .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"))
    .join("[^/]+");
  return new RegExp(`^${escaped}$`);
}

/** Copies, transitively, every `#/components/...` a set of path items refers to. */
function collectReferencedComponents(spec: JsonObject, roots: unknown): JsonObject {
  const source = spec.components as Record<string, Record<string, unknown>>;
  const out: Record<string, Record<string, unknown>> = {};
  const seen = new Set<string>();
  const queue: unknown[] = [roots];
  while (queue.length > 0) {
    const node = queue.pop();
    if (Array.isArray(node)) {
      queue.push(...(node as unknown[]));
      continue;
    }
    if (node === null || typeof node !== "object") continue;
    for (const [key, value] of Object.entries(node as JsonObject)) {
      if (key === "$ref" && typeof value === "string" && value.startsWith("#/components/")) {
        if (seen.has(value)) continue;
        seen.add(value);
        const [, , kind, name] = value.split("/");
        if (kind === undefined || name === undefined) continue;
        const target = source[kind]?.[name];
        if (target === undefined) throw new Error(`GitHub's description has a dangling reference ${value}`);
        (out[kind] ??= {})[name] = target;
        queue.push(target);
      } else {
        queue.push(value);
      }
    }
  }
  return out;
}

/** The documented route a request lands on, as GitHub's router would pick it. */
export function matchDocumentedRoute(
  documented: DocumentedRoute[],
  method: string,
  path: string,
): { route?: DocumentedRoute; pathKnown: boolean } {
  const lower = method.toLowerCase();
  let pathKnown = false;
  for (const route of documented) {
    if (!route.pattern.test(path)) continue;
    pathKnown = true;
    if (route.method === lower) return { route, pathKnown };
  }
  return { pathKnown };
}

/** An OpenAPI backend that validates against `definition`, knowing the string formats it uses. */
async function startValidatingBackend(definition: unknown, formats: Set<string>): Promise<OpenAPIBackend> {
  const backend = new OpenAPIBackend({
    definition: definition as never,
    validate: true,
    quick: true,
    ajvOpts: { strict: false, allErrors: true },
    customizeAjv: (ajv) => {
      for (const format of formats) ajv.addFormat(format, formatCheck(format));
      return ajv;
    },
  });
  await backend.init();
  return backend;
}
