import { readFile } from "node:fs/promises";

const templateUrl = new URL("../../action/airlock-image.yml", import.meta.url);

/** The template workflow shipped in action/ (issue 11): what a repository without one is told to add. */
export async function readImageWorkflowTemplate(): Promise<string> {
  return readFile(templateUrl, "utf8");
}
