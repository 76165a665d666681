// A run's prepare in a process of its own, so a test can kill it mid-fetch (SIGKILL to
// its process group, as a crashed runner or container would die):
// `node prepare-checkout-child.ts '<json of PrepareRunCheckoutInput without logger>'`.
import pino from "pino";
import { prepareRunCheckout } from "../../runner/relay/prepare-run-checkout.ts";

const input = JSON.parse(process.argv[2] ?? "{}") as Omit<Parameters<typeof prepareRunCheckout>[0], "logger">;
const checkout = await prepareRunCheckout({ ...input, logger: pino({ level: "silent" }) });
process.stdout.write(`${JSON.stringify(checkout)}\n`);
