import { ImageBuildError } from "./image-build-error.ts";

/**
 * A granted image's build failed (issue 10 §5 "On failure"). `logTail` is the end of the
 * build output (≤ 40 lines), for the caller to post on the request's thread; it holds the
 * package manager's own words and no secret (the build gets none).
 */
export class GrantedImageBuildError extends ImageBuildError {
  readonly logTail: readonly string[];
  readonly grants: readonly string[];
  constructor(
    message: string,
    details: { logTail: readonly string[]; grants: readonly string[]; cause?: unknown },
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = "GrantedImageBuildError";
    this.logTail = details.logTail;
    this.grants = details.grants;
  }
}
