// The agent's HTTP client reads no answer past its limit: a runaway or hostile facade cannot exhaust its small heap.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { httpRequest, MAX_RESPONSE_BYTES } from "./http.js";

const server = createServer((req, res) => {
  const size = req.url === "/big" ? MAX_RESPONSE_BYTES + 1024 * 1024 : 1024;
  res.writeHead(200, { "content-type": "application/json" });
  const chunk = Buffer.alloc(64 * 1024, "x");
  let sent = 0;
  const more = (): void => {
    while (sent < size) {
      sent += chunk.length;
      if (!res.write(chunk)) return void res.once("drain", more);
    }
    res.end();
  };
  res.on("error", () => undefined);
  more();
});
let base = "";

beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

describe("httpRequest", () => {
  it("reads an answer within the limit, and stops reading one past it with a clear error", async () => {
    expect((await httpRequest({ url: `${base}/small`, method: "GET", timeoutMs: 10_000 })).text).toHaveLength(
      64 * 1024,
    );
    await expect(httpRequest({ url: `${base}/big`, method: "GET", timeoutMs: 10_000 })).rejects.toThrow(
      `answer larger than ${MAX_RESPONSE_BYTES} bytes`,
    );
  });
});
