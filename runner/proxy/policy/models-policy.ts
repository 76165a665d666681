import type { EndpointPolicy } from "./endpoint-policy.ts";

/** `GET /v1/models`: no body, nothing to refuse; the upstream's list passes as it is. */
export const modelsPolicy: EndpointPolicy = {
  route: "GET /v1/models",
  refused: [],
  passes: ["the request (it has no body) and the upstream's list"],
};
