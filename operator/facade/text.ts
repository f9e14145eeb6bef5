// Free text a person types and the dashboard shows back (names): control characters, bidirectional overrides and
// unpaired surrogates are refused with 422 — the first two cannot be shown safely, the last cannot be stored as sent
// (JSON decoders, the API server's included, replace them, so the name kept would differ from the one given).
import type { z } from "zod";
import { hasLoneSurrogate, LONE_SURROGATE_MESSAGE } from "../../src-shared/unicode.js";

const CONTROL = /\p{Cc}/u;
/** Embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) reorder what follows them on screen. */
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;

/** The string schema, refusing control characters and unpaired surrogates. */
export function plainText(schema: z.ZodString): z.ZodString {
  return schema
    .refine((s) => !CONTROL.test(s), { message: "must not contain control characters" })
    .refine((s) => !BIDI_CONTROL.test(s), {
      message: "must not contain bidirectional override characters (U+202A–U+202E, U+2066–U+2069)",
    })
    .refine((s) => !hasLoneSurrogate(s), { message: LONE_SURROGATE_MESSAGE });
}
