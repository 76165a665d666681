import { z } from "zod";
import { AirlockError } from "../../core/errors.ts";

/**
 * A grant that changes an agent's image (issue 10 §5): a package from Debian (apt), npm
 * or a Python index (pip). `network:` and `llm-tool:` grants are served by the egress and
 * LLM proxies at run time and change no file in the image, so they are not image grants.
 */
export type ImageGrantKind = "apt" | "npm" | "pip";
export const imageGrantKinds: readonly ImageGrantKind[] = ["apt", "npm", "pip"];

/**
 * Debian policy §5.6.1/§5.6.7: lower-case letters, digits, `+`, `-`, `.`; at least two
 * characters, starting with a letter or digit. Nothing else can reach the apt command line.
 */
const aptName = /^[a-z0-9][a-z0-9+.-]{1,127}$/;
/** Debian versions: `[epoch:]upstream[-revision]`, starting with a digit. */
const aptVersion = /^([0-9]+:)?[0-9][A-Za-z0-9.+~-]{0,127}$/;
/**
 * npm's own naming rules (lower case, URL-safe, optional `@scope/`, ≤ 214 characters).
 * A URL, git, `file:` or alias spec cannot match: `:`, `/` (outside the scope) and `#`
 * are refused.
 */
const npmName = /^(@[a-z0-9~-][a-z0-9._~-]*\/)?[a-z0-9~-][a-z0-9._~-]*$/;
/** An exact semver version; dist-tags (`latest`, `next`) and ranges are refused. */
const npmVersion = /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/;
/** PEP 508 names. */
const pipName = /^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$/;
/** A PEP 440 public release version for an `==` pin (no wildcards, no local part). */
const pipVersion = /^([0-9]+!)?[0-9]+(\.[0-9]+)*((a|b|rc)[0-9]+)?(\.post[0-9]+)?(\.dev[0-9]+)?$/;

export const imageGrantSchema = z
  .strictObject({
    kind: z.enum(["apt", "npm", "pip"]),
    name: z.string().min(1).max(214),
    version: z.string().min(1).max(128).optional(),
  })
  .superRefine((grant, ctx) => {
    const problem = findGrantProblem(grant);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  });
export type ImageGrant = z.infer<typeof imageGrantSchema>;

/** A grant value that is not one Airlock can build safely; the message says what is expected. */
export class InvalidGrantError extends AirlockError {
  constructor(message: string) {
    super("invalid_grant", message);
    this.name = "InvalidGrantError";
  }
}

const expected =
  "expected apt:<debian package>[@<version>], npm:<package>[@<exact version>] or pip:<package>[==<version>], " +
  "e.g. apt:jq, npm:left-pad@1.3.0, pip:requests==2.32.3";

/**
 * Parses `kind:name[@version]` (pip also takes `name==version`, npm `@scope/name@version`).
 * Refuses with InvalidGrantError anything else, naming what was expected.
 */
export function parseImageGrant(spec: string): ImageGrant {
  const colon = spec.indexOf(":");
  if (colon <= 0) throw new InvalidGrantError(`"${spec}" has no kind; ${expected}`);
  const kind = spec.slice(0, colon);
  const rest = spec.slice(colon + 1);
  if (kind === "network" || kind === "llm-tool") {
    throw new InvalidGrantError(
      `"${spec}": ${kind}: grants change no image and are not handled here yet (they come with the egress ` +
        `and LLM-proxy capability work); ${expected}`,
    );
  }
  if (kind !== "apt" && kind !== "npm" && kind !== "pip") {
    throw new InvalidGrantError(`"${spec}": unknown kind "${kind}"; ${expected}`);
  }
  let name = rest;
  let version: string | undefined;
  const pin = kind === "pip" && rest.includes("==") ? rest.indexOf("==") : -1;
  if (pin >= 0) {
    name = rest.slice(0, pin);
    version = rest.slice(pin + 2);
  } else {
    // npm scopes start with "@": the version separator is the last "@" after the first character.
    const at = rest.lastIndexOf("@");
    if (at > 0) {
      name = rest.slice(0, at);
      version = rest.slice(at + 1);
    }
  }
  const grant: ImageGrant = version === undefined ? { kind, name } : { kind, name, version };
  const problem = findGrantProblem(grant);
  if (problem) throw new InvalidGrantError(`"${spec}": ${problem}`);
  return grant;
}

/** `apt:jq`, `npm:left-pad@1.3.0`, `pip:requests==2.32.3`: the canonical text of a grant. */
export function formatImageGrant(grant: ImageGrant): string {
  if (grant.version === undefined) return `${grant.kind}:${grant.name}`;
  return grant.kind === "pip"
    ? `${grant.kind}:${grant.name}==${grant.version}`
    : `${grant.kind}:${grant.name}@${grant.version}`;
}

/**
 * Grants de-duplicated and in a stable order (by their canonical text), names normalised
 * as their ecosystems compare them (pip: PEP 503), so that equal sets give equal tags.
 */
export function normalizeImageGrants(grants: readonly ImageGrant[]): ImageGrant[] {
  const byText = new Map<string, ImageGrant>();
  for (const grant of grants) {
    const name = grant.kind === "pip" ? grant.name.toLowerCase().replace(/[-_.]+/g, "-") : grant.name;
    const normalized: ImageGrant =
      grant.version === undefined ? { kind: grant.kind, name } : { ...grant, name };
    byText.set(formatImageGrant(normalized), normalized);
  }
  return [...byText.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, grant]) => grant);
}

function findGrantProblem(grant: {
  kind: string;
  name: string;
  version?: string | undefined;
}): string | undefined {
  const { kind, name, version } = grant;
  switch (kind) {
    case "apt":
      if (!aptName.test(name)) {
        return `"${name}" is not a Debian package name (lower-case letters, digits, "+", "-", "."; at least two characters, starting with a letter or digit)`;
      }
      if (version !== undefined && !aptVersion.test(version)) {
        return `"${version}" is not a Debian version (e.g. 1.6-2.1)`;
      }
      return undefined;
    case "npm":
      if (name.length > 214 || !npmName.test(name) || /^[._]/.test(name)) {
        return `"${name}" is not an npm package name (lower case, optional @scope/; no URL, git, file: or alias specs)`;
      }
      if (version !== undefined && !npmVersion.test(version)) {
        return `"${version}" is not an exact version (e.g. 1.3.0); ranges and tags such as "latest" are refused, leave the version out to take the current release`;
      }
      return undefined;
    case "pip":
      if (!pipName.test(name)) return `"${name}" is not a PEP 508 package name; URLs are refused`;
      if (version !== undefined && !pipVersion.test(version)) {
        return `"${version}" is not an exact PEP 440 version for an == pin (e.g. 2.32.3)`;
      }
      return undefined;
    default:
      return `unknown kind "${kind}"`;
  }
}
