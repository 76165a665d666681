import { z } from "zod";

/** HTTP credentials for one clone or push; handed to git per command, never stored. */
export const gitCredentialsSchema = z.object({
  username: z.string().min(1, "git credentials need a username (x-access-token for an installation token)"),
  password: z.string().min(1, "git credentials need a password or token"),
});

export type GitCredentials = z.infer<typeof gitCredentialsSchema>;
