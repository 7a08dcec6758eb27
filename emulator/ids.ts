import { createHash, randomBytes } from 'node:crypto'

export function randomToken(bytes: number): string {
  return randomBytes(bytes).toString('base64url')
}

/** Deterministic ids, so a seeded tree has the same ids in every run. */
export function stableHash(input: string): Buffer {
  return createHash('sha256').update(input).digest()
}

export function sha256Base64Url(input: string): string {
  return createHash('sha256').update(input).digest('base64url')
}

let requestCounter = 0
const requestPrefix = randomBytes(8).toString('hex')

/** Dropbox answers every call with an `X-Dropbox-Request-Id`; cheap enough for the hot path. */
export function nextRequestId(): string {
  requestCounter = (requestCounter + 1) % 0x1_0000_0000
  return requestPrefix + requestCounter.toString(16).padStart(8, '0')
}
