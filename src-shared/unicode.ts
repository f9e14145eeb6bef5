// Whether text can be stored as sent: the API server (Go) replaces an unpaired UTF-16 surrogate with U+FFFD, so a
// value holding one reads back different from what was hashed or compared.

/** With the u flag a surrogate pair is one code point, so only an unpaired half is of category Cs. */
const LONE_SURROGATE = /\p{Cs}/u;

/** The message a schema refuses such text with (the 422's detail names the field). */
export const LONE_SURROGATE_MESSAGE = "must be valid Unicode (an unpaired surrogate is not)";

export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}
