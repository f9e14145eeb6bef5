// The polling helper's failure message says what it waited for.
import { describe, expect, it } from "vitest";
import { eventually } from "./cluster.js";

describe("eventually", () => {
  it("returns the first truthy value", async () => {
    let n = 0;
    await expect(eventually(() => (++n >= 3 ? n : false), 1000)).resolves.toBe(3);
  });

  it("names the given description, or else the check's source, when it times out", async () => {
    await expect(eventually(() => false, 50, "the pool to be Ready")).rejects.toThrow(
      "timed out after 50 ms waiting for the pool to be Ready",
    );
    const pool = { replicas: 1 };
    await expect(eventually(() => pool.replicas === 0, 50)).rejects.toThrow("waiting for () => pool.replicas === 0");
  });
});
