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

/**
 * Ids shaped as Dropbox issues them: a prefix, then 35 characters (`AA` and 33 of base64url),
 * e.g. `dbid:AAH4f99T0taONIb-OurWxbNQ6ywGRopQngc`. users_common.stone requires an AccountId
 * of exactly 40 characters; SDKs that validate (Python, Java) reject anything shorter.
 * Deterministic in `name`, so tests, the benchmark and the demo can name accounts by a word.
 */
function dropboxId(prefix: string, name: string): string {
  return `${prefix}:AA${sha256Base64Url(`${prefix}/${name}`).slice(0, 33)}`
}

/** `dbid:` + 35 characters = 40, for the account called `name`. */
export function accountIdFor(name: string): string {
  return dropboxId('dbid', name)
}

/** `dbmid:` + 35 characters, the team member id of the account called `name`. */
export function teamMemberIdFor(name: string): string {
  return dropboxId('dbmid', name)
}

/** `dbtid:` + 35 characters, the id of the team called `name`. */
export function teamIdFor(name: string): string {
  return dropboxId('dbtid', name)
}
