import pino from "pino";
import { testDatabaseKinds } from "../helpers/test-databases.ts";
import { startProxyHarness } from "./start-proxy-harness.ts";
const kind = testDatabaseKinds().find((k) => k.name === (process.argv[2] ?? "postgres"))!;
const h = await startProxyHarness(kind, { proxy: { logger: pino({ level: "debug" }) } });
const { openai } = await h.newRun();
try {
  console.log(
    await openai.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
    }),
  );
} catch (e) {
  console.log(String(e));
}
await h.close();
