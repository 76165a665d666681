/**
 * The benchmark's upstream, in its own process so that it does not share an event loop
 * with the load generator. Prints one JSON line `{"url": …}` when listening; exits when
 * its stdin closes (the benchmark died) or on SIGTERM.
 */
import { startScriptedUpstream } from "../test/stand-ins/scripted-llm-upstream.ts";

const upstream = await startScriptedUpstream({
  recordRequests: false,
  openaiApiKey: process.env.BENCH_OPENAI_KEY,
  anthropicApiKey: process.env.BENCH_ANTHROPIC_KEY,
  defaultScript: { text: "The quick brown fox jumps over the lazy dog.", inputTokens: 24 },
});
upstream.define("ttfb", { chunks: 4, inputTokens: 24 });
upstream.define("stream64", { chunks: 64, chunkDelayMs: 20, inputTokens: 24 });

process.stdout.write(`${JSON.stringify({ url: upstream.url })}\n`);

let closing = false;
async function stop() {
  if (closing) return;
  closing = true;
  await upstream.close();
  process.exit(0);
}
process.on("SIGTERM", () => void stop());
process.stdin.on("end", () => void stop());
process.stdin.resume();
