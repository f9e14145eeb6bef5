// Helpers for the runtime integration tests: polling until a condition holds (no fixed sleeps).
import { describeCheck } from "../support/cluster.js";

/** Polls `check` every `intervalMs` until it is true; fails naming `message` (default: the check's source). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  {
    timeoutMs = 10_000,
    intervalMs = 20,
    message = describeCheck(check),
  }: { timeoutMs?: number; intervalMs?: number; message?: string } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${message}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
