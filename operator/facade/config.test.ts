import { describe, expect, it } from "vitest";
import { loadFacadeConfig } from "./config.js";

describe("SPOTOPT_AGENT_IMAGE", () => {
  it("is read as repository and tag, or repository and digest; unset, there is none", () => {
    expect(loadFacadeConfig({ SPOTOPT_AGENT_IMAGE: "registry:5000/team/so:1.2.3" }).agentImage).toEqual({
      repository: "registry:5000/team/so",
      tag: "1.2.3",
    });
    const digest = `sha256:${"0f".repeat(32)}`;
    expect(loadFacadeConfig({ SPOTOPT_AGENT_IMAGE: `so@${digest}` }).agentImage).toEqual({ repository: "so", digest });
    expect(loadFacadeConfig({}).agentImage).toBeUndefined();
    // any registry's spelling the chart may pass through
    expect(loadFacadeConfig({ SPOTOPT_AGENT_IMAGE: "Registry.Example.com/my__org/so:1" }).agentImage).toEqual({
      repository: "Registry.Example.com/my__org/so",
      tag: "1",
    });
    expect(loadFacadeConfig({ SPOTOPT_AGENT_IMAGE: "registry:5000/so" }).agentImage).toEqual({
      repository: "registry:5000/so",
    });
  });

  it("refuses what is not an image reference, naming the variable", () => {
    for (const raw of ["so:1 --set x=y", "so@sha256:short", "so:", ":1", "@sha256:" + "a".repeat(64)])
      expect(() => loadFacadeConfig({ SPOTOPT_AGENT_IMAGE: raw }), raw).toThrow(/^SPOTOPT_AGENT_IMAGE must be/);
  });
});
