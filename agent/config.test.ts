// The agent's environment: defaults, and a bad or missing value named in one line (main.ts exits 2 with it).
import { describe, expect, it } from "vitest";
import { AgentConfigError, loadAgentConfig } from "./config.js";

const BASE = { SPOTOPT_FACADE_URL: "https://spot.example.com/", SPOTOPT_CLUSTER_ID: "prod-1" };

function failure(env: Record<string, string>): string {
  try {
    loadAgentConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(AgentConfigError);
    return (err as Error).message;
  }
  throw new Error("the configuration was accepted");
}

describe("agent configuration", () => {
  it("fills the documented defaults and reads numbers as seconds", () => {
    const config = loadAgentConfig({ ...BASE, SPOTOPT_AGENT_TOKEN: "t", SPOTOPT_HEARTBEAT_SECONDS: "7.5" });
    expect(config).toMatchObject({
      facadeUrl: "https://spot.example.com",
      clusterId: "prod-1",
      heartbeatMs: 7500,
      pollMs: 5000,
      healthStaleMs: 120_000,
      backoffMaxMs: 60_000,
      port: 8081,
      host: "0.0.0.0",
      mode: "deployment",
      imdsUrl: "http://169.254.169.254",
      interruptionDrainMs: 90_000,
      maxConcurrentActions: 4,
    });
    expect(config.readToken()).toBe("t");
  });

  it("takes its own namespace from SPOTOPT_AGENT_NAMESPACE and refuses one that is not a namespace name", () => {
    expect(
      loadAgentConfig({ ...BASE, SPOTOPT_AGENT_TOKEN: "t", SPOTOPT_AGENT_NAMESPACE: "spot-optimizer" }),
    ).toMatchObject({
      ownNamespace: "spot-optimizer",
    });
    expect(failure({ ...BASE, SPOTOPT_AGENT_TOKEN: "t", SPOTOPT_AGENT_NAMESPACE: "Not/A_Namespace" })).toMatch(
      /^SPOTOPT_AGENT_NAMESPACE: /,
    );
  });

  it("names the variable that is missing or wrong", () => {
    expect(failure({ SPOTOPT_CLUSTER_ID: "a" })).toMatch(/^SPOTOPT_FACADE_URL: .*expected string/);
    expect(failure({ ...BASE, SPOTOPT_FACADE_URL: "ftp://x" })).toMatch(/^SPOTOPT_FACADE_URL: Invalid URL/);
    expect(failure({ ...BASE, SPOTOPT_CLUSTER_ID: "Prod_1" })).toMatch(/^SPOTOPT_CLUSTER_ID: /);
    expect(failure({ ...BASE, SPOTOPT_AGENT_PORT: "80.5" })).toMatch(/^SPOTOPT_AGENT_PORT: .*int/);
    expect(failure({ ...BASE, SPOTOPT_AGENT_PORT: "70000" })).toMatch(/^SPOTOPT_AGENT_PORT: Too big/);
    expect(failure({ ...BASE, SPOTOPT_HEARTBEAT_SECONDS: "0" })).toMatch(/^SPOTOPT_HEARTBEAT_SECONDS: Too small/);
    expect(failure({ ...BASE, SPOTOPT_MAX_CONCURRENT_ACTIONS: "many" })).toMatch(/^SPOTOPT_MAX_CONCURRENT_ACTIONS: /);
    expect(failure({ ...BASE, SPOTOPT_AGENT_MODE: "sidecar" })).toMatch(/^SPOTOPT_AGENT_MODE: Invalid option/);
    expect(failure({ ...BASE, SPOTOPT_AGENT_MODE: "daemonset" })).toMatch(/^SPOTOPT_NODE_NAME: required/);
  });

  it("reads the token from the file when none is given, naming the file it cannot read", () => {
    const config = loadAgentConfig({ ...BASE, SPOTOPT_AGENT_TOKEN_FILE: "/nonexistent/token" });
    expect(() => config.readToken()).toThrow(/cannot read the agent token file \/nonexistent\/token/);
  });
});
