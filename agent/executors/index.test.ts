// The executor registry's own refusals and limits, with a stand-in kube client: a deadline past what a timer can hold,
// a type named like a built-in property, and a message longer than the facade records.
import { describe, expect, it } from "vitest";
import type { KubeClient } from "../../src-shared/kube/client.js";
import { pendingAction } from "../../test/support/agent.js";
import { ACTION_RESULT_MESSAGE_MAX } from "../../src-shared/agent/action-limits.js";
import { execute } from "./index.js";

/** A client whose every read fails after `ms` with `message`. */
function failingClient(message: string, ms = 20): KubeClient {
  const fail = () => new Promise((_, reject) => setTimeout(() => reject(new Error(message)), ms));
  return { get: fail, getIfExists: fail } as unknown as KubeClient;
}

const node = { api_version: "v1", kind: "Node", namespace: null, name: "n1" } as const;

describe("execute", () => {
  it("runs an action whose deadline lies past what a timer holds to its own end", async () => {
    const outcome = await execute({
      client: failingClient("connection refused"),
      action: pendingAction("cordon", node),
      deadlineMs: Date.now() + 1e16,
    });
    expect(outcome).toEqual({ status: "failed", message: "executor error: connection refused" });
  });

  it("knows no type named like a property every object has", async () => {
    for (const type of ["constructor", "toString", "__proto__", "hasOwnProperty"]) {
      const outcome = await execute({
        client: failingClient("unused"),
        action: pendingAction(type, node),
        deadlineMs: Date.now() + 5000,
      });
      expect(outcome.status, type).toBe("failed");
      expect(outcome.message, type).toContain(`unknown action type "${type}"`);
    }
  });

  it("cuts a message longer than the facade records, saying so", async () => {
    const outcome = await execute({
      client: failingClient(`bad value ${"x".repeat(3 * ACTION_RESULT_MESSAGE_MAX)}`),
      action: pendingAction("cordon", node),
      deadlineMs: Date.now() + 5000,
    });
    expect(outcome.status).toBe("failed");
    expect(outcome.message.length).toBe(ACTION_RESULT_MESSAGE_MAX);
    expect(outcome.message).toMatch(/^executor error: bad value x+ … \(cut\)$/);
  });
});
