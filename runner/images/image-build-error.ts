import { AirlockError } from "../../core/errors.ts";

/** An image could not be prepared or built; the message says what to do about it. */
export class ImageBuildError extends AirlockError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("image_build", message, options);
    this.name = "ImageBuildError";
  }
}
