import { configureTextEncoding } from "@bufbuild/protobuf/wire";

// The WHATWG TextDecoder drops a leading byte order mark (U+FEFF) unless told not to. For a
// protobuf string that would change what the caller sent: a scope or audience of "\uFEFF..."
// would reach the core without the character the invisible-character rules exist to refuse,
// and a scope of just "\uFEFF" would read as no scope at all.
const LENIENT = new TextDecoder("utf-8", { ignoreBOM: true });
const STRICT = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const ENCODER = new TextEncoder();

/**
 * Makes protobuf-es (connect-node's decoder) read every string field exactly as sent, a
 * leading U+FEFF included. Process-wide, so the composition root calls it once at start-up.
 */
export function decodeProtobufStringsExactly(): void {
  configureTextEncoding({
    encodeUtf8: (text) => ENCODER.encode(text),
    decodeUtf8: (bytes, strict) => (strict ? STRICT : LENIENT).decode(bytes),
    checkUtf8: wellFormed,
  });
}

/** Whether `text` has no lone surrogate, so it can be written as UTF-8. */
function wellFormed(text: string): boolean {
  try {
    encodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}
