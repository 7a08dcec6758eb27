/**
 * JSON carried in an HTTP header. Field values are ASCII (RFC 9110 §5.5: obs-text is not for
 * new use), so DEL and every character above U+007E becomes a `\uXXXX` escape (one per
 * UTF-16 unit, as JSON allows). Dropbox requires exactly this for `Dropbox-API-Arg`
 * (developers/documentation/http, "JSON in HTTP headers"); the `Cloud-Entry` header of a
 * download follows the same rule (contract §5).
 */
export function headerJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  )
}
