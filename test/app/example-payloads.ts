/* eslint-disable @typescript-eslint/no-explicit-any -- official example payloads, edited freely per test */
import { createRequire } from "node:module";

interface ExampleGroup {
  name: string;
  examples: Record<string, unknown>[];
}

const require = createRequire(import.meta.url);

/**
 * A deep copy of the first official example payload (`@octokit/webhooks-examples`) of an
 * event and action, with the `installation` field GitHub adds for apps and the examples lack.
 */
export function examplePayload(
  name: string,
  action: string,
  pick: (p: Record<string, unknown>) => boolean = () => true,
): Record<string, any> {
  const groups = require("@octokit/webhooks-examples") as ExampleGroup[];
  const example = groups.find((g) => g.name === name)?.examples.find((p) => p.action === action && pick(p));
  if (!example) throw new Error(`no example payload for ${name}.${action}`);
  const copy = structuredClone(example) as Record<string, any>;
  copy.installation ??= { id: 4242, node_id: "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uNDI0Mg==" };
  return copy;
}

/** Points an example's repository at a test's own repository name. */
export function setRepository(payload: Record<string, any>, fullName: string): void {
  const [owner, name] = fullName.split("/");
  Object.assign(payload.repository, {
    full_name: fullName,
    name,
    clone_url: `https://git.test/${fullName}.git`,
    default_branch: "main",
  });
  payload.repository.owner.login = owner;
}

export function setUser(user: Record<string, any>, login: string, type = "User"): void {
  user.login = login;
  user.type = type;
}
