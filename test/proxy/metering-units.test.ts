// @unit: no Docker, no database, no child process (npm run test:unit runs these).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  chooseUpstreams,
  compileRouting,
  defaultRouting,
  resolveUpstreams,
} from "../../runner/proxy/choose-upstreams.ts";
import { createStreamMeter, readJsonUsage } from "../../runner/proxy/meter-usage.ts";
import { parseProxyConfig } from "../../runner/proxy/parse-proxy-config.ts";
import { defaultPriceTable, findModelPrice, parsePriceFile } from "../../runner/proxy/price-table.ts";
import {
  computeCostUnits,
  countTotalTokens,
  formatCostUnits,
  parseUsdToUnits,
} from "../../runner/proxy/usage.ts";

describe("price table and cost arithmetic", () => {
  it("matches exact ids and dated snapshots, never a newer sibling", () => {
    assert.equal(findModelPrice(defaultPriceTable, "gpt-4o-mini-2024-07-18")?.key, "gpt-4o-mini");
    assert.equal(findModelPrice(defaultPriceTable, "gpt-4o-2024-08-06")?.key, "gpt-4o");
    assert.equal(findModelPrice(defaultPriceTable, "claude-sonnet-4-5-20250929")?.key, "claude-sonnet-4-5");
    assert.equal(findModelPrice(defaultPriceTable, "claude-3-7-sonnet-latest")?.key, "claude-3-7-sonnet");
    assert.equal(findModelPrice(defaultPriceTable, "o3-mini")?.key, "o3-mini");
    assert.equal(findModelPrice(defaultPriceTable, "claude-opus-4-6"), undefined);
    assert.equal(findModelPrice(defaultPriceTable, "gpt-4o-evil"), undefined);
    assert.equal(findModelPrice(defaultPriceTable, undefined), undefined);
  });

  it("costs exactly, in 1e-10 USD units, cache tokens at their own prices", () => {
    const anthropic = {
      inputTokens: 1000,
      outputTokens: 200,
      cacheCreationTokens: 300,
      cacheReadTokens: 400,
      inputIncludesCache: false,
    };
    // 1000·3 + 200·15 + 300·3.75 + 400·0.30 = 3000 + 3000 + 1125 + 120 = 7245 USD per million tokens.
    assert.equal(
      formatCostUnits(computeCostUnits(anthropic, defaultPriceTable["claude-sonnet-4"]!)),
      "0.0072450000",
    );
    assert.equal(countTotalTokens(anthropic), 1900);
    const openai = {
      inputTokens: 1000,
      outputTokens: 200,
      cacheCreationTokens: 0,
      cacheReadTokens: 400,
      inputIncludesCache: true,
    };
    // 600·2.5 + 400·1.25 + 200·10 = 1500 + 500 + 2000 = 4000.
    assert.equal(formatCostUnits(computeCostUnits(openai, defaultPriceTable["gpt-4o"]!)), "0.0040000000");
    assert.equal(countTotalTokens(openai), 1200);
    assert.equal(parseUsdToUnits("1.5"), 15_000_000_000);
    assert.equal(parseUsdToUnits("0.000001"), 10_000);
    assert.equal(formatCostUnits(parseUsdToUnits("12.3456789012")), "12.3456789012");
    assert.throws(() => parseUsdToUnits("-1"), /USD amount/);
  });

  it("validates an operator's price file with a message naming the problem", () => {
    assert.deepEqual(parsePriceFile({ "llama3.1": { input: 0, output: 0 } }, "prices.yml"), {
      "llama3.1": { input: 0, output: 0 },
    });
    assert.throws(
      () => parsePriceFile({ m: { input: -1, output: 2 } }, "prices.yml"),
      /prices\.yml.*\n.*m\.input/s,
    );
    assert.throws(() => parsePriceFile({ m: { input: 1, outptu: 2 } }, "prices.yml"), /prices\.yml/);
    assert.deepEqual(parsePriceFile({ small: { input: 0, output: 0, maxOutputTokens: 2048 } }, "p.yml"), {
      small: { input: 0, output: 0, maxOutputTokens: 2048 },
    });
    assert.throws(
      () => parsePriceFile({ m: { input: 0, output: 0, maxOutputTokens: 0.5 } }, "p.yml"),
      /maxOutputTokens/,
    );
  });
});

describe("stream meter", () => {
  const chunk = (o: unknown) => `data: ${JSON.stringify(o)}\n\n`;

  it("reassembles events split anywhere across chunks, CRLF included, and strips the injected usage chunk", () => {
    const stream =
      chunk({ id: "1", choices: [{ index: 0, delta: { content: "héllo" } }] }).replace(/\n/g, "\r\n") +
      chunk({ id: "1", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] }) +
      chunk({
        id: "1",
        choices: [],
        usage: { prompt_tokens: 7, completion_tokens: 2, prompt_tokens_details: { cached_tokens: 3 } },
      }) +
      "data: [DONE]\n\n";
    const bytes = Buffer.from(stream);
    for (const size of [1, 2, 3, 7, 50, bytes.length]) {
      const meter = createStreamMeter("openai-chat", true);
      let out = "";
      for (let i = 0; i < bytes.length; i += size) out += meter.push(bytes.subarray(i, i + size)).toString();
      out += meter.end();
      assert.deepEqual(
        [meter.usage.inputTokens, meter.usage.outputTokens, meter.usage.cacheReadTokens],
        [7, 2, 3],
        `size ${size}`,
      );
      assert.ok(!out.includes("usage"), `size ${size}`);
      assert.ok(out.includes("héllo") && out.endsWith("data: [DONE]\n\n"), `size ${size}`);
    }
  });

  it("passes bytes through untouched when the client asked for usage itself", () => {
    const stream = Buffer.from(chunk({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } }));
    const meter = createStreamMeter("openai-chat", false);
    assert.equal(meter.push(stream), stream);
    assert.equal(meter.end(), "");
    assert.equal(meter.usage.inputTokens, 1);
  });

  it("takes Anthropic output from the last cumulative message_delta, never a sum", () => {
    const events = [
      `event: message_start\ndata: ${JSON.stringify({ type: "message_start", message: { model: "claude-x", usage: { input_tokens: 9, cache_creation_input_tokens: 2, cache_read_input_tokens: 4, output_tokens: 1 } } })}\n\n`,
      `event: ping\ndata: {"type":"ping"}\n\n`,
      `event: message_delta\ndata: ${JSON.stringify({ type: "message_delta", usage: { output_tokens: 5 } })}\n\n`,
      `event: message_delta\ndata: ${JSON.stringify({ type: "message_delta", usage: { output_tokens: 8 } })}\n\n`,
    ].join("");
    const meter = createStreamMeter("anthropic-messages", false);
    meter.push(Buffer.from(events));
    meter.end();
    assert.deepEqual(meter.usage, {
      inputTokens: 9,
      outputTokens: 8,
      cacheCreationTokens: 2,
      cacheReadTokens: 4,
      inputIncludesCache: false,
    });
    assert.equal(meter.model, "claude-x");
  });

  it("knows when a stream declared its final usage, in each format (issue 9: otherwise the reservation is charged)", () => {
    const anthropic = createStreamMeter("anthropic-messages", false);
    anthropic.push(
      Buffer.from(
        `event: message_start\ndata: ${JSON.stringify({ type: "message_start", message: { usage: { input_tokens: 9, output_tokens: 1 } } })}\n\n`,
      ),
    );
    assert.equal(anthropic.sawUsage, true);
    assert.equal(anthropic.finalUsage, false, "message_start declares input only: output is still to come");
    anthropic.push(
      Buffer.from(
        `event: message_delta\ndata: ${JSON.stringify({ type: "message_delta", delta: { stop_reason: null }, usage: { output_tokens: 4 } })}\n\n`,
      ),
    );
    assert.equal(anthropic.finalUsage, false, "a delta without stop_reason is not the last");
    anthropic.push(
      Buffer.from(
        `event: message_delta\ndata: ${JSON.stringify({ type: "message_delta", delta: { stop_reason: "end_turn" }, usage: { output_tokens: 8 } })}\n\n`,
      ),
    );
    assert.equal(anthropic.finalUsage, true);

    const responses = createStreamMeter("openai-responses", false);
    responses.push(
      Buffer.from(`data: ${JSON.stringify({ type: "response.in_progress", response: { usage: null } })}\n\n`),
    );
    assert.equal(responses.finalUsage, false);
    responses.push(
      Buffer.from(
        `data: ${JSON.stringify({ type: "response.completed", response: { usage: { input_tokens: 3, output_tokens: 4 } } })}\n\n`,
      ),
    );
    assert.equal(responses.finalUsage, true, "named by the data's type when no event: line is sent");

    const chat = createStreamMeter("openai-chat", false);
    chat.push(Buffer.from(chunk({ choices: [{ index: 0, delta: { content: "hi" } }] })));
    assert.equal(chat.finalUsage, false);
    chat.push(Buffer.from(chunk({ choices: [], usage: { prompt_tokens: 1, completion_tokens: 1 } })));
    assert.equal(chat.finalUsage, true);
  });

  it("reads non-streamed usage of each format", () => {
    assert.equal(
      readJsonUsage("openai-responses", { usage: { input_tokens: 3, output_tokens: 4 } })?.outputTokens,
      4,
    );
    assert.equal(readJsonUsage("openai-chat", { choices: [] }), undefined);
    assert.equal(
      readJsonUsage("anthropic-messages", { usage: { input_tokens: -5, output_tokens: 2 } })?.inputTokens,
      0,
    );
  });
});

describe("upstream routing", () => {
  const all = resolveUpstreams({
    openai: { baseUrl: "https://openai.invalid/v1", apiKey: "k1" },
    anthropic: { baseUrl: "https://anthropic.invalid", apiKey: "k2" },
    extra: {
      ollama: { baseUrl: "http://127.0.0.1:11434/v1" },
      vllm: { baseUrl: "http://10.0.0.2:8000/v1/" },
      "anthropic-mirror": { baseUrl: "https://mirror.invalid", format: "anthropic" },
    },
  });
  const routing = compileRouting([{ match: "llama*", provider: "ollama" }, ...defaultRouting]);
  const fallback = { openai: ["vllm", "anthropic-mirror"], anthropic: ["anthropic-mirror"] };
  const names = (format: "openai" | "anthropic", model: string | undefined) =>
    chooseUpstreams(all, routing, fallback, format, model).map((u) => u.name);

  it("routes by model within the endpoint's wire format, then its same-format fallbacks", () => {
    assert.deepEqual(names("openai", "llama3.1:8b"), ["ollama"]);
    assert.deepEqual(names("openai", "gpt-4o"), ["openai", "vllm"]);
    // A claude model on an OpenAI endpoint cannot go to Anthropic: the proxy does not translate.
    assert.deepEqual(names("openai", "claude-haiku-4-5"), ["openai", "vllm"]);
    assert.deepEqual(names("anthropic", "claude-haiku-4-5"), ["anthropic", "anthropic-mirror"]);
    assert.deepEqual(names("anthropic", "gpt-4o"), ["anthropic", "anthropic-mirror"]);
    assert.equal(all.get("vllm")?.basePath, "/v1");
    assert.equal(all.get("anthropic")?.basePath, "");
  });

  it("refuses a base URL that is not http(s)", () => {
    assert.throws(() => resolveUpstreams({ openai: { baseUrl: "file:///etc/passwd" } }), /must be http/);
  });
});

describe("proxy configuration file", () => {
  it("adds upstreams with keys from named variables, routing and fallback", () => {
    const config = parseProxyConfig(
      {
        upstreams: {
          ollama: { baseUrl: "http://127.0.0.1:11434/v1" },
          vllm: { baseUrl: "http://10.0.0.2:8000/v1", apiKeyEnv: "VLLM_KEY" },
        },
        routing: [{ match: "llama*", provider: "ollama" }],
        fallback: { openai: ["vllm"] },
      },
      "proxy.yml",
      { VLLM_KEY: "vllm-key-value" },
    );
    assert.deepEqual(config.extra, {
      ollama: { baseUrl: "http://127.0.0.1:11434/v1", format: "openai", apiKey: undefined },
      vllm: { baseUrl: "http://10.0.0.2:8000/v1", format: "openai", apiKey: "vllm-key-value" },
    });
    assert.deepEqual(config.routing, [{ match: "llama*", provider: "ollama" }]);
    assert.deepEqual(parseProxyConfig(undefined, "none", {}), {
      extra: {},
      openai: {},
      routing: undefined,
      fallback: {},
    });
  });

  it("lets the operator choose the OpenAI organization and project per upstream", () => {
    const config = parseProxyConfig(
      {
        openai: { organization: "org-operator", project: "proj_operator" },
        upstreams: { azure: { baseUrl: "http://10.0.0.3/v1", organization: "org-other" } },
      },
      "proxy.yml",
      {},
    );
    assert.deepEqual(config.openai, { organization: "org-operator", project: "proj_operator" });
    assert.equal(config.extra.azure?.organization, "org-other");
    assert.equal(config.extra.azure?.project, undefined);
    assert.throws(() => parseProxyConfig({ openai: { apiKey: "sk-inline" } }, "p.yml", {}), /p\.yml/);
  });

  it("names every problem: unset key variable, unknown upstream, reserved name, bad URL, stray key", () => {
    assert.throws(
      () =>
        parseProxyConfig(
          {
            upstreams: {
              vllm: { baseUrl: "http://x/v1", apiKeyEnv: "MISSING_KEY" },
              openai: { baseUrl: "http://y/v1" },
            },
            routing: [{ match: "*", provider: "nowhere" }],
            fallback: { openai: ["ghost"] },
          },
          "proxy.yml",
          {},
        ),
      (e: Error) =>
        /MISSING_KEY is not set/.test(e.message) &&
        /routing\.0\.provider: no upstream named nowhere/.test(e.message) &&
        /fallback\.openai: no upstream named ghost/.test(e.message) &&
        /upstreams\.openai: reserved/.test(e.message),
    );
    assert.throws(
      () => parseProxyConfig({ upstreams: { a: { baseUrl: "ftp://x" } } }, "p.yml", {}),
      /upstreams\.a\.baseUrl/,
    );
    assert.throws(
      () => parseProxyConfig({ upstreams: { a: { baseUrl: "http://x", apiKey: "sk-inline" } } }, "p.yml", {}),
      /p\.yml/,
    );
  });
});
