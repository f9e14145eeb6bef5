// ServiceAccount tokens: HS256 JWTs with the claims of Kubernetes' bound tokens, signed with a key derived from the
// server's admin token (so they survive a restart with the persisted state) and valid only while their
// ServiceAccount exists with the same uid.
import { createHmac, timingSafeEqual } from "node:crypto";

export const TOKEN_ISSUER = "https://kubernetes.default.svc.cluster.local";
const DEFAULT_EXPIRATION_SECONDS = 3600;
const MIN_EXPIRATION_SECONDS = 600;

export interface ServiceAccountClaims {
  namespace: string;
  name: string;
  uid: string;
  /** Seconds since the epoch. */
  exp: number;
}

function b64url(data: Buffer | string): string {
  return Buffer.from(data).toString("base64url");
}

export class ServiceAccountTokens {
  private readonly key: Buffer;

  constructor(adminToken: string) {
    this.key = createHmac("sha256", adminToken).update("serviceaccount-token-signing-key").digest();
  }

  /** A token for the ServiceAccount; expiration as TokenRequest's (default 1 h, at least 10 min). */
  mint(sa: { namespace: string; name: string; uid: string }, nowMs: number, expirationSeconds?: number): string {
    const lifetime = Math.max(MIN_EXPIRATION_SECONDS, expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS);
    const iat = Math.floor(nowMs / 1000);
    const header = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
    const payload = b64url(
      JSON.stringify({
        iss: TOKEN_ISSUER,
        aud: [TOKEN_ISSUER],
        sub: `system:serviceaccount:${sa.namespace}:${sa.name}`,
        iat,
        nbf: iat,
        exp: iat + lifetime,
        "kubernetes.io": { namespace: sa.namespace, serviceaccount: { name: sa.name, uid: sa.uid } },
      }),
    );
    return `${header}.${payload}.${this.sign(`${header}.${payload}`)}`;
  }

  /** The claims of a token signed by this server and not expired; undefined otherwise. */
  verify(token: string, nowMs: number): ServiceAccountClaims | undefined {
    const parts = token.split(".");
    if (parts.length !== 3) return undefined;
    const [header, payload, signature] = parts as [string, string, string];
    const expected = Buffer.from(this.sign(`${header}.${payload}`));
    const got = Buffer.from(signature);
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) return undefined;
    const claims = parseClaims(payload);
    if (!claims || claims.exp * 1000 <= nowMs) return undefined;
    return claims;
  }

  private sign(input: string): string {
    return createHmac("sha256", this.key).update(input).digest("base64url");
  }
}

interface RawClaims {
  exp?: unknown;
  "kubernetes.io"?: { namespace?: string; serviceaccount?: { name?: string; uid?: string } };
}

/** The claims we rely on, or undefined when the payload lacks any of them. */
function parseClaims(payload: string): ServiceAccountClaims | undefined {
  let raw: RawClaims;
  try {
    raw = JSON.parse(Buffer.from(payload, "base64url").toString("utf8")) as RawClaims;
  } catch {
    return undefined;
  }
  const k = raw["kubernetes.io"];
  const sa = k?.serviceaccount;
  if (typeof raw.exp !== "number" || !k?.namespace || !sa?.name || !sa.uid) return undefined;
  return { namespace: k.namespace, name: sa.name, uid: sa.uid, exp: raw.exp };
}
