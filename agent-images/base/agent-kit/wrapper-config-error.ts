/** A missing or bad setting in the container's environment: the wrapper exits with the setup code. */
export class WrapperConfigError extends Error {
  override name = "WrapperConfigError";
}
