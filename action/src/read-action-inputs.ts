import { capabilitiesFilePath } from "../../core/capabilities/capabilities-file-entry.ts";
import { parseImageGrant, type ImageGrant } from "../../runner/images/image-grant.ts";
import { ActionError } from "./action-error.ts";

/** The Action's inputs (action.yml), checked once; everything downstream trusts this shape. */
export interface ActionInputs {
  runId: string;
  commitSha: string;
  capabilitiesFile: string;
  agent: string;
  /** The agent image the grants are built on, as the operator published it. */
  baseImage: string;
  /** `host[:port]` of the registry, as the repository's config names it (Airlock dispatches it). */
  registry: string;
  /** The repository path under the registry, e.g. `acme/airlock-images`. */
  image: string;
  grants: ImageGrant[];
  grantsSha256: string;
  registryUsername: string;
  registryPassword: string;
  /** For the check run that carries the result back to Airlock. */
  token: string;
}

type GetInput = (name: string, options?: { required?: boolean; trimWhitespace?: boolean }) => string;

const refPattern =
  /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?(\/[a-z0-9]+([._-][a-z0-9]+)*)+(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$/;
const registryPattern = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$/;
const imagePattern = /^[a-z0-9]+([._-][a-z0-9]+)*(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

/**
 * Reads and checks every input (actions/checkout's input-helper habit): each failure
 * names the input and what it expects. Everything here reaches a docker or git command
 * line or an image label, so nothing outside the patterns is let through.
 */
export function readActionInputs(getInput: GetInput): ActionInputs {
  const read = (name: string, pattern: RegExp, expected: string, fallback?: string): string => {
    const value =
      getInput(name, { required: fallback === undefined, trimWhitespace: true }) || fallback || "";
    if (!pattern.test(value)) {
      throw new ActionError(
        "invalid_input",
        `input "${name}" must be ${expected}; got "${value.slice(0, 80)}"`,
        {
          input: name,
        },
      );
    }
    return value;
  };
  const secret = (name: string): string => {
    const value = getInput(name, { required: true, trimWhitespace: true });
    if (value === "") throw new ActionError("invalid_input", `input "${name}" is empty`, { input: name });
    return value;
  };
  const capabilitiesFile = read(
    "capabilities_file",
    /^(?!.*(^|\/)\.\.?(\/|$))[A-Za-z0-9._/-]{1,200}$/,
    "a path inside the repository without . or .. segments",
    capabilitiesFilePath,
  );
  const grantsText = read(
    "grants",
    /^[^\s,][^,]*(,[^\s,][^,]*)*$/,
    "a comma-separated list of apt:, npm: and pip: grants, e.g. apt:jq,npm:left-pad@1.3.0",
  );
  const grants = grantsText.split(",").map((spec) => {
    try {
      return parseImageGrant(spec.trim());
    } catch (error) {
      throw new ActionError("invalid_input", `input "grants": ${(error as Error).message}`, {
        input: "grants",
        cause: error,
      });
    }
  });
  return {
    runId: read(
      "run_id",
      /^[a-z0-9][a-z0-9_-]{0,63}$/,
      "an Airlock run id (lowercase letters, digits, _ and -)",
    ),
    commitSha: read("commit_sha", /^[0-9a-f]{40}$/, "a full commit SHA (40 lower-case hex digits)"),
    capabilitiesFile,
    agent: read("agent", /^[a-z0-9][a-z0-9_-]{0,62}$/, "an agent id such as builtin"),
    baseImage: read(
      "base_image",
      refPattern,
      "the agent image to build on, as registry/repository[:tag][@sha256:digest] in lower case",
    ),
    registry: read("registry", registryPattern, "a registry host[:port] such as registry.example:5000"),
    image: read("image", imagePattern, "a lower-case repository path such as acme/airlock-images"),
    grants,
    grantsSha256: read(
      "grants_sha256",
      /^[0-9a-f]{64}$/,
      "the sha256 of the approved grants (64 hex digits)",
    ),
    registryUsername: secret("registry_username"),
    registryPassword: secret("registry_password"),
    token: secret("token"),
  };
}
