/**
 * `Content-Disposition: attachment` for any file name (RFC 6266 §4.3, RFC 8187): `filename*`
 * carries the exact name as percent-encoded UTF-8, and a plain `filename` fallback for old
 * clients carries only what is safe in a quoted string — printable ASCII other than `"`,
 * `\` and `%` (RFC 6266 appendix D: a `%` may be decoded by some agents). The name never
 * reaches the header unescaped, so quotes, semicolons and control characters cannot break it.
 */

/** RFC 8187 `attr-char`: ALPHA / DIGIT / "!#$&+-.^_`|~"; everything else percent-encoded. */
function encodeExtValue(value: string): string {
  return encodeURIComponent(value).replace(
    /['()*]/g,
    (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`,
  )
}

export function asciiFallback(name: string): string {
  // Code points, not UTF-16 units: one replacement per character, even outside the BMP.
  let fallback = ''
  for (const char of name) {
    const code = char.codePointAt(0) as number
    fallback +=
      code >= 0x20 && code <= 0x7e && char !== '"' && char !== '\\' && char !== '%' ? char : '_'
  }
  return fallback
}

export function attachmentDisposition(name: string): string {
  // A lone surrogate would make encodeURIComponent throw; it becomes U+FFFD.
  const safe = name === '' ? 'download' : name.toWellFormed()
  return `attachment; filename="${asciiFallback(safe)}"; filename*=UTF-8''${encodeExtValue(safe)}`
}
