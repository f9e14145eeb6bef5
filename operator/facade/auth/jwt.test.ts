// Unit tests of token signing/verification: tamper, wrong key, alg none, expiry, wrong audience/issuer, token type confusion.
import { randomBytes } from "node:crypto";
import { SignJWT, UnsecuredJWT } from "jose";
import { describe, expect, it } from "vitest";
import { createTokenCodec, type TokenSubject } from "./jwt.js";
import { hashPassword, verifyPassword } from "./password.js";

const settings = {
  issuer: "spot-optimizer",
  audience: "spot-optimizer-facade",
  accessTokenTtlSeconds: 86_400,
  refreshTokenTtlSeconds: 604_800,
};
const subject: TokenSubject = {
  userId: "u1",
  email: "a@a.test",
  role: "owner",
  orgId: "o1",
  namespace: "org-o1",
  sessionId: "s1",
};
const key = randomBytes(32);
let nowMs = Date.UTC(2026, 0, 1);
const codec = createTokenCodec(key, settings, () => new Date(nowMs));

describe("JWT codec", () => {
  it("round-trips an access token with a 24 h lifetime", async () => {
    const { token, expiresInSeconds } = await codec.sign(subject, "access");
    expect(expiresInSeconds).toBe(86_400);
    const verified = await codec.verify(token, "access");
    expect(verified).toMatchObject(subject);
    expect(verified.expiresAtSeconds - verified.issuedAtSeconds).toBe(86_400);
  });

  it("rejects a tampered payload and a token signed with another key", async () => {
    const { token } = await codec.sign(subject, "access");
    const [h, p, s] = token.split(".");
    const payload = JSON.parse(Buffer.from(p!, "base64url").toString()) as Record<string, unknown>;
    payload.role = "super_admin";
    const forged = [h, Buffer.from(JSON.stringify(payload)).toString("base64url"), s].join(".");
    await expect(codec.verify(forged, "access")).rejects.toMatchObject({ status: 401 });
    const other = createTokenCodec(randomBytes(32), settings, () => new Date(nowMs));
    const foreign = (await other.sign(subject, "access")).token;
    await expect(codec.verify(foreign, "access")).rejects.toMatchObject({ status: 401 });
  });

  it("rejects alg none and other algorithms", async () => {
    const unsecured = new UnsecuredJWT({
      email: "a@a.test",
      role: "owner",
      org: "o1",
      ns: "org-o1",
      sid: "s1",
      typ: "access",
    })
      .setSubject("u1")
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setIssuedAt()
      .setExpirationTime("1h")
      .setJti("j")
      .encode();
    await expect(codec.verify(unsecured, "access")).rejects.toMatchObject({ status: 401 });
    const hs512 = await new SignJWT({
      email: "a@a.test",
      role: "owner",
      org: "o1",
      ns: "org-o1",
      sid: "s1",
      typ: "access",
    })
      .setProtectedHeader({ alg: "HS512" })
      .setSubject("u1")
      .setIssuer(settings.issuer)
      .setAudience(settings.audience)
      .setIssuedAt()
      .setExpirationTime("1h")
      .setJti("j")
      .sign(randomBytes(64));
    await expect(codec.verify(hs512, "access")).rejects.toMatchObject({ status: 401 });
  });

  it("rejects an expired token, a wrong audience or issuer, and a refresh token used as access", async () => {
    const { token } = await codec.sign(subject, "access");
    nowMs += 86_401_000;
    await expect(codec.verify(token, "access")).rejects.toMatchObject({ status: 401, detail: "token expired" });
    const wrongAud = createTokenCodec(key, { ...settings, audience: "someone-else" }, () => new Date(nowMs));
    await expect(codec.verify((await wrongAud.sign(subject, "access")).token, "access")).rejects.toMatchObject({
      status: 401,
    });
    const wrongIss = createTokenCodec(key, { ...settings, issuer: "evil" }, () => new Date(nowMs));
    await expect(codec.verify((await wrongIss.sign(subject, "access")).token, "access")).rejects.toMatchObject({
      status: 401,
    });
    const refresh = (await codec.sign(subject, "refresh")).token;
    await expect(codec.verify(refresh, "access")).rejects.toMatchObject({ status: 401 });
    await expect(codec.verify((await codec.sign(subject, "access")).token, "refresh")).rejects.toMatchObject({
      status: 401,
    });
  });

  it("a token already verified once still expires, and keeps failing as the other token type", async () => {
    const { token } = await codec.sign(subject, "access");
    expect(await codec.verify(token, "access")).toMatchObject(subject);
    expect(await codec.verify(token, "access")).toMatchObject(subject); // second use: remembered
    await expect(codec.verify(token, "refresh")).rejects.toMatchObject({ status: 401 });
    nowMs += 86_400_000; // exactly exp: jose rejects at now >= exp
    await expect(codec.verify(token, "access")).rejects.toMatchObject({ status: 401, detail: "token expired" });
    const refresh = (await codec.sign(subject, "refresh")).token;
    expect(await codec.verify(refresh, "refresh")).toMatchObject(subject);
    await expect(codec.verify(refresh, "access")).rejects.toMatchObject({ status: 401 });
  });
});

describe("password hashing", () => {
  it("stores argon2id hashes that verify only the right password", async () => {
    const stored = await hashPassword("SecurePass123!");
    expect(stored).toMatch(/^\$argon2id\$/);
    expect(stored).not.toContain("SecurePass123!");
    expect(await verifyPassword(stored, "SecurePass123!")).toBe(true);
    expect(await verifyPassword(stored, "securepass123!")).toBe(false);
    expect(await verifyPassword("not a hash", "x")).toBe(false);
  });
});
