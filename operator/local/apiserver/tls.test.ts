// Unit tests of the self-signed certificate: parses, verifies its own signature, covers 127.0.0.1 and serves TLS.
import { X509Certificate } from "node:crypto";
import { createServer, request } from "node:https";
import { createSecureContext } from "node:tls";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { selfSignedCertificate } from "./tls.js";

describe("selfSignedCertificate", () => {
  it("is a valid self-signed certificate for 127.0.0.1 and localhost", () => {
    const { certPem } = selfSignedCertificate({ commonName: "spotopt-local", ipAddresses: ["127.0.0.1", "::1"] });
    const cert = new X509Certificate(certPem);
    expect(cert.subject).toBe("CN=spotopt-local");
    expect(cert.ca).toBe(true);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.checkIP("127.0.0.1")).toBe("127.0.0.1");
    expect(cert.checkHost("localhost")).toBe("localhost");
    expect(cert.subjectAltName).toContain("IP Address:0:0:0:0:0:0:0:1");
  });

  it("always encodes a minimal positive serial number, which OpenSSL requires", () => {
    for (let i = 0; i < 64; i++) {
      const { certPem, keyPem } = selfSignedCertificate({ commonName: "spotopt-local" });
      expect(new X509Certificate(certPem).serialNumber).toMatch(/^[4-7][0-9A-F]{31}$/);
      expect(() => createSecureContext({ cert: certPem, key: keyPem })).not.toThrow();
    }
  });

  it("serves HTTPS that a client trusting the certificate accepts", async () => {
    const { certPem, keyPem } = selfSignedCertificate({ commonName: "spotopt-local" });
    const server = createServer({ cert: certPem, key: keyPem }, (_req, res) => res.end("ok"));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    const body = await new Promise<string>((resolve, reject) => {
      request({ host: "127.0.0.1", port, ca: certPem, path: "/" }, (res) => {
        let data = "";
        res.on("data", (c) => (data += c));
        res.on("end", () => resolve(data));
      })
        .on("error", reject)
        .end();
    });
    await new Promise<void>((r) => server.close(() => r()));
    expect(body).toBe("ok");
  });
});
