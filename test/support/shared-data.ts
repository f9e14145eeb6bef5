// Where the public reference data lives (../shared/data beside the repo) and how suites that need it skip without it.
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "vitest";

/** ../shared/data beside the repository root; CI always has it, a plain clone may not. */
export const sharedDataDir = resolve(dirname(fileURLToPath(import.meta.url)), "../../../shared/data");

/** True when ../shared/data is present. */
export const hasSharedData = existsSync(sharedDataDir);

/** The one line a suite prints when it skips for want of ../shared/data. */
export const sharedDataSkipReason = `skipped: needs the public reference data at ${sharedDataDir} (present in CI)`;

/** A describe block that runs only with ../shared/data and otherwise says once why it skipped. */
export function describeWithSharedData(name: string, fn: () => void): void {
  if (hasSharedData) {
    describe(name, fn);
    return;
  }
  console.warn(`${name}: ${sharedDataSkipReason}`);
  // The body is not even collected: suites read ../shared/data at collection time.
  describe(name, () => {
    it.skip(sharedDataSkipReason, () => undefined);
  });
}

/** One test that runs only with ../shared/data and otherwise says why it skipped. */
export function itWithSharedData(name: string, fn: () => Promise<void> | void, timeoutMs?: number): void {
  if (hasSharedData) {
    it(name, fn, timeoutMs);
    return;
  }
  console.warn(`${name}: ${sharedDataSkipReason}`);
  it.skip(name, fn);
}
