import { isAbsolute, resolve } from "node:path";
import type { GitCredentials } from "./git-credentials.ts";
import { RelayError } from "./relay-error.ts";

export type GitRemote = {
  /** What git is given: an absolute path, or a URL with any `user:password@` removed. */
  location: string;
  kind: "path" | "url";
  /** `scheme://host[:port]/` for http(s) URLs: the only place a credential header is sent. */
  httpOrigin: string | undefined;
  /** Credentials that were embedded in the URL, moved out so git never writes them to .git/config. */
  embeddedCredentials: GitCredentials | undefined;
};

const allowedSchemes = new Set(["https:", "http:", "ssh:", "git:", "file:"]);

/**
 * Reads `--repo` (a local path or a git URL). Transports such as `ext::` run commands,
 * so only plain schemes pass; a leading `-` could be taken for an option.
 */
export function parseGitRemote(repo: string): GitRemote {
  const text = repo.trim();
  if (text.length === 0) throw new RelayError("The repository is empty: pass a local path or a git URL.");
  if (text.startsWith("-"))
    throw new RelayError(`The repository "${text}" starts with "-": pass a path or URL.`);
  if (/[\0\r\n]/.test(text)) throw new RelayError("The repository contains a control character.");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(text)) {
    let url: URL;
    try {
      url = new URL(text);
    } catch (error) {
      throw new RelayError(`The repository URL "${text}" cannot be parsed; check its spelling.`, {
        cause: error,
      });
    }
    if (!allowedSchemes.has(url.protocol)) {
      throw new RelayError(
        `The repository URL uses "${url.protocol}", which Airlock does not allow; use https, ssh, git or file.`,
      );
    }
    let embeddedCredentials: GitCredentials | undefined;
    if (url.password !== "") {
      embeddedCredentials = {
        username: decodeURIComponent(url.username) || "x-access-token",
        password: decodeURIComponent(url.password),
      };
      url.username = "";
      url.password = "";
    }
    const isHttp = url.protocol === "https:" || url.protocol === "http:";
    return {
      location: url.toString(),
      kind: "url",
      httpOrigin: isHttp ? `${url.protocol}//${url.host}/` : undefined,
      embeddedCredentials,
    };
  }
  if (text.includes("::")) {
    throw new RelayError(`The repository "${text}" names a git remote helper, which Airlock does not allow.`);
  }
  // scp-like `user@host:path` (a colon before any slash) is ssh.
  const colon = text.indexOf(":");
  const slash = text.indexOf("/");
  if (colon > 0 && (slash === -1 || colon < slash) && !isAbsolute(text)) {
    return { location: text, kind: "url", httpOrigin: undefined, embeddedCredentials: undefined };
  }
  return { location: resolve(text), kind: "path", httpOrigin: undefined, embeddedCredentials: undefined };
}
