// Password hashing with argon2id (OWASP parameters) and the password policy; clear text is never stored or logged.
import { hash, verify } from "@node-rs/argon2";

// Algorithm.Argon2id from @node-rs/argon2: a const enum, which isolatedModules cannot import.
const ARGON2ID = 2;

/** OWASP 2023 minimum for argon2id: m=19 MiB, t=2, p=1. */
export const ARGON2_OPTIONS = { algorithm: ARGON2ID, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 256;

export async function hashPassword(password: string): Promise<string> {
  return hash(password, ARGON2_OPTIONS);
}

/** False for a wrong password or a malformed stored hash (never throws on bad input). */
export async function verifyPassword(storedHash: string, password: string): Promise<boolean> {
  try {
    return await verify(storedHash, password);
  } catch {
    return false;
  }
}

let dummyHash: Promise<string> | undefined;

/** Spends the same time as a real check, so unknown emails are not revealed by a faster answer. */
export async function verifyAgainstDummy(password: string): Promise<false> {
  dummyHash ??= hashPassword("dummy password for timing equalisation");
  await verifyPassword(await dummyHash, password);
  return false;
}
