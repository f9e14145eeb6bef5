// Self-signed X.509 certificate for the local API server's HTTPS (kubectl only sends bearer tokens over TLS).
import { createPrivateKey, generateKeyPairSync, randomBytes, sign } from "node:crypto";
import { isIP } from "node:net";

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, ...content: Buffer[]): Buffer => {
  const body = Buffer.concat(content);
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
};
const seq = (...c: Buffer[]): Buffer => tlv(0x30, ...c);

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split(".").map(Number);
  const bytes = [40 * a! + b!];
  for (const n of rest) {
    const chunk: number[] = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(0x06, Buffer.from(bytes));
}

function utcTime(d: Date): Buffer {
  const s = d.toISOString().replace(/[-:T]/g, "").slice(2, 14) + "Z";
  return tlv(0x17, Buffer.from(s, "ascii"));
}

const name = (cn: string): Buffer => seq(tlv(0x31, seq(oid("2.5.4.3"), tlv(0x0c, Buffer.from(cn, "utf8")))));

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split(".").map(Number));
  const [head = "", tail = ""] = ip.split("::");
  const h = head ? head.split(":") : [];
  const t = tail ? tail.split(":") : [];
  const groups = ip.includes("::") ? [...h, ...Array<string>(8 - h.length - t.length).fill("0"), ...t] : h;
  return Buffer.concat(groups.map((g) => Buffer.from(g.padStart(4, "0"), "hex")));
}

function extensions(dnsNames: string[], ipAddresses: string[]): Buffer {
  const san = seq(
    ...dnsNames.map((d) => tlv(0x82, Buffer.from(d, "ascii"))),
    ...ipAddresses.map((ip) => tlv(0x87, ipBytes(ip))),
  );
  const critical = tlv(0x01, Buffer.from([0xff]));
  return tlv(
    0xa3,
    seq(
      seq(oid("2.5.29.19"), critical, tlv(0x04, seq(tlv(0x01, Buffer.from([0xff]))))),
      // digitalSignature + keyCertSign: the certificate is its own CA (usable as certificate-authority-data).
      seq(oid("2.5.29.15"), critical, tlv(0x04, tlv(0x03, Buffer.from([0x02, 0x84])))),
      seq(oid("2.5.29.37"), tlv(0x04, seq(oid("1.3.6.1.5.5.7.3.1")))),
      seq(oid("2.5.29.17"), tlv(0x04, san)),
    ),
  );
}

const pem = (label: string, der: Buffer): string =>
  `-----BEGIN ${label}-----\n${der
    .toString("base64")
    .replace(/(.{64})/g, "$1\n")
    .replace(/\n$/, "")}\n-----END ${label}-----\n`;

/**
 * A fresh self-signed ECDSA P-256 certificate (10 years, CA:TRUE, serverAuth) for 127.0.0.1/localhost HTTPS.
 * Returns PEM strings for `https.createServer({ cert, key })` and a kubeconfig's certificate-authority-data.
 */
export function selfSignedCertificate(opts: { commonName: string; dnsNames?: string[]; ipAddresses?: string[] }): {
  certPem: string;
  keyPem: string;
} {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const serial = randomBytes(16);
  // Positive and minimal DER: the top bit clear (no sign padding), the next bit set (no leading zero byte).
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  const ecdsaSha256 = seq(oid("1.2.840.10045.4.3.2"));
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + 3650 * 24 * 3600 * 1000);
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, serial),
    ecdsaSha256,
    name(opts.commonName),
    seq(utcTime(notBefore), utcTime(notAfter)),
    name(opts.commonName),
    publicKey.export({ type: "spki", format: "der" }),
    extensions(opts.dnsNames ?? ["localhost"], opts.ipAddresses ?? ["127.0.0.1"]),
  );
  const signature = sign("sha256", tbs, privateKey);
  const cert = seq(tbs, ecdsaSha256, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));
  const keyPem = createPrivateKey(privateKey.export({ type: "pkcs8", format: "pem" }))
    .export({ type: "pkcs8", format: "pem" })
    .toString();
  return { certPem: pem("CERTIFICATE", cert), keyPem };
}
