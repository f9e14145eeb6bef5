// Access and refresh JWTs signed and verified with jose (HS256 only: alg none, other algorithms, wrong key/issuer/audience and expiry are rejected).
import { randomUUID } from "node:crypto";
import { jwtVerify, SignJWT, type JWTPayload } from "jose";
import { UnauthorizedError } from "../errors.js";
import type { Role } from "../http.js";

export const JWT_ALGORITHM = "HS256";

export interface TokenSubject {
  userId: string;
  email: string;
  role: Role;
  orgId: string;
  namespace: string;
  /** Refresh-token family (login session). */
  sessionId: string;
  /** A super_admin's impersonation token: one organisation, no platform routes, at most an hour. */
  impersonating?: boolean;
}

export interface VerifiedToken extends TokenSubject {
  tokenId: string;
  issuedAtSeconds: number;
  expiresAtSeconds: number;
}

export interface JwtSettings {
  issuer: string;
  audience: string;
  accessTokenTtlSeconds: number;
  refreshTokenTtlSeconds: number;
}

export type TokenType = "access" | "refresh";

export interface TokenCodec {
  /** `ttlSeconds` overrides the configured lifetime (impersonation tokens are short). */
  sign(
    subject: TokenSubject,
    type: TokenType,
    tokenId?: string,
    ttlSeconds?: number,
  ): Promise<{ token: string; tokenId: string; expiresInSeconds: number }>;
  verify(token: string, type: TokenType): Promise<VerifiedToken>;
}

const ROLES = new Set<string>(["owner", "admin", "viewer", "super_admin"]);

function subjectFrom(payload: JWTPayload, type: TokenType): VerifiedToken {
  const p = payload as JWTPayload & Record<string, unknown>;
  const strings = [p.sub, p.email, p.role, p.org, p.ns, p.sid, p.jti];
  if (p.typ !== type || strings.some((s) => typeof s !== "string") || !ROLES.has(p.role as string)) {
    throw new UnauthorizedError(`not a valid ${type} token`);
  }
  return {
    userId: p.sub!,
    email: p.email as string,
    role: p.role as Role,
    orgId: p.org as string,
    namespace: p.ns as string,
    sessionId: p.sid as string,
    ...(p.imp === true ? { impersonating: true } : {}),
    tokenId: p.jti!,
    issuedAtSeconds: p.iat ?? 0,
    expiresAtSeconds: p.exp ?? 0,
  };
}

/** Verified tokens remembered per codec (so per signing key); bounded, oldest forgotten first. */
const VERIFIED_CACHE_MAX = 10_000;

/**
 * Signs/verifies with one symmetric key; refresh tokens carry their own audience so neither passes as the other.
 * A token that verified once is remembered by its exact text until it expires: the signature, issuer and audience
 * of the same bytes under the same key cannot change, so a dashboard polling with one token pays for the HMAC and
 * claim checks once instead of on every request. Any other text (a tampered token) misses and is verified in full;
 * expiry is still checked on every use.
 */
export function createTokenCodec(key: Uint8Array, settings: JwtSettings, now: () => Date): TokenCodec {
  const audienceOf = (type: TokenType): string =>
    type === "access" ? settings.audience : `${settings.audience}:refresh`;
  const verified = new Map<string, VerifiedToken>();
  const remember = (cacheKey: string, token: VerifiedToken): void => {
    if (verified.size >= VERIFIED_CACHE_MAX) verified.delete(verified.keys().next().value!);
    verified.set(cacheKey, token);
  };
  return {
    async sign(subject, type, tokenId = randomUUID(), ttlSeconds) {
      const nowSeconds = Math.floor(now().getTime() / 1000);
      const expiresInSeconds =
        ttlSeconds ?? (type === "access" ? settings.accessTokenTtlSeconds : settings.refreshTokenTtlSeconds);
      const token = await new SignJWT({
        email: subject.email,
        role: subject.role,
        org: subject.orgId,
        ns: subject.namespace,
        sid: subject.sessionId,
        typ: type,
        ...(subject.impersonating ? { imp: true } : {}),
      })
        .setProtectedHeader({ alg: JWT_ALGORITHM, typ: "JWT" })
        .setSubject(subject.userId)
        .setIssuer(settings.issuer)
        .setAudience(audienceOf(type))
        .setIssuedAt(nowSeconds)
        .setExpirationTime(nowSeconds + expiresInSeconds)
        .setJti(tokenId)
        .sign(key);
      return { token, tokenId, expiresInSeconds };
    },
    async verify(token, type) {
      const cacheKey = `${type} ${token}`;
      const known = verified.get(cacheKey);
      if (known) {
        // jose rejects a token once now >= exp (no clock tolerance configured); the same rule here.
        if (Math.floor(now().getTime() / 1000) < known.expiresAtSeconds) return known;
        verified.delete(cacheKey);
        throw new UnauthorizedError("token expired");
      }
      try {
        const { payload } = await jwtVerify(token, key, {
          algorithms: [JWT_ALGORITHM],
          issuer: settings.issuer,
          audience: audienceOf(type),
          currentDate: now(),
          requiredClaims: ["exp", "iat", "sub", "jti"],
        });
        const subject = subjectFrom(payload, type);
        remember(cacheKey, subject);
        return subject;
      } catch (err) {
        if (err instanceof UnauthorizedError) throw err;
        const code = (err as { code?: string }).code;
        throw new UnauthorizedError(code === "ERR_JWT_EXPIRED" ? "token expired" : `invalid ${type} token`);
      }
    },
  };
}
