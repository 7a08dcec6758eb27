/** Hand-built tokens for attacks no honest signer (jose, PyJWT) would produce. */
import { createHmac, createPrivateKey, type JsonWebKey, sign } from 'node:crypto'

export function b64url(value: string | Uint8Array): string {
  return Buffer.from(value).toString('base64url')
}

export function encodeJson(value: unknown): string {
  return b64url(JSON.stringify(value))
}

/** A compact JWS over arbitrary header and payload, signed by `sign` (or unsigned). */
export function forge(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  sign: (input: string) => string = () => '',
): string {
  const input = `${encodeJson(header)}.${encodeJson(payload)}`
  return `${input}.${sign(input)}`
}

export function hmacWith(secret: string | Uint8Array) {
  return (input: string) => createHmac('sha256', secret).update(input).digest('base64url')
}

/** Signs like an honest Ed25519 holder of `privateJwk`, whatever the header says. */
export function ed25519With(privateJwk: Record<string, unknown>) {
  const key = createPrivateKey({ key: privateJwk as JsonWebKey, format: 'jwk' })
  return (input: string) => sign(null, Buffer.from(input), key).toString('base64url')
}
