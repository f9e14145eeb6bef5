import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadKubeConfig } from "./config.js";

const saved = { HOME: process.env.HOME, KUBECONFIG: process.env.KUBECONFIG };
afterEach(() => {
  for (const [key, value] of Object.entries(saved))
    if (value === undefined) delete process.env[key];
    else process.env[key] = value;
});

describe("loadKubeConfig", () => {
  it("says there is no kubeconfig instead of falling back to http://localhost:8080", () => {
    const home = mkdtempSync(join(tmpdir(), "spotopt-nohome-"));
    try {
      process.env.HOME = home;
      delete process.env.KUBECONFIG;
      expect(() => loadKubeConfig({ inCluster: false })).toThrow(
        `no kubeconfig: not in a pod, KUBECONFIG is unset and ${join(home, ".kube", "config")} does not exist`,
      );
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });
});
