// Free text a person types and the dashboard shows back (names): control characters, bidirectional overrides and
// unpaired surrogates are refused with 422 — the first two cannot be shown safely, the last cannot be stored as sent
// (JSON decoders, the API server's included, replace them, so the name kept would differ from the one given).
import type { z } from "zod";

const CONTROL = /\p{Cc}/u;
/** Embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069) reorder what follows them on screen. */
const BIDI_CONTROL = /[\u202A-\u202E\u2066-\u2069]/u;
/** With the u flag a surrogate pair is one code point, so only an unpaired half is of category Cs. */
const LONE_SURROGATE = /\p{Cs}/u;

/** The string schema, refusing control characters and unpaired surrogates. */
export function plainText(schema: z.ZodString): z.ZodString {
  return schema
    .refine((s) => !CONTROL.test(s), { message: "must not contain control characters" })
    .refine((s) => !BIDI_CONTROL.test(s), {
      message: "must not contain bidirectional override characters (U+202A–U+202E, U+2066–U+2069)",
    })
    .refine((s) => !LONE_SURROGATE.test(s), { message: "must be valid Unicode (an unpaired surrogate is not)" });
}
