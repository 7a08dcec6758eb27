/**
 * Opaque, stateless list cursors: signed JSON, so nothing is stored per listing and memory
 * stays flat under the benchmark. A tampered or foreign cursor fails the signature.
 */
import { createHmac } from 'node:crypto'

export interface ListCursor {
  /** Account the listing belongs to. */
  a: string
  /** The account's cursor epoch; bumping it resets every cursor. */
  e: number
  /** Namespace the paths are relative to (the path root of the first call). */
  ns: string
  /** Id of the listed folder. */
  n: string
  /** Path prefix of the entries, lower-case and as displayed. */
  pl: string
  pd: string
  r: boolean
  d: boolean
  /** include_mounted_folders. */
  mf: boolean
  l: number
  /** `s`: paging the snapshot taken at seq `s`; `c`: changes after seq `s`. */
  m: 's' | 'c'
  s: number
  /** Position in the snapshot (mode `s`). */
  o: number
}

const MAC_LENGTH = 22

function mac(key: Buffer, payload: string): string {
  return createHmac('sha256', key).update(payload).digest('base64url').slice(0, MAC_LENGTH)
}

export function encodeCursor(key: Buffer, cursor: ListCursor): string {
  const payload = Buffer.from(JSON.stringify(cursor)).toString('base64url')
  return `AA${mac(key, payload)}${payload}`
}

export function decodeCursor(key: Buffer, raw: string): ListCursor | null {
  if (!raw.startsWith('AA') || raw.length <= 2 + MAC_LENGTH) return null
  const payload = raw.slice(2 + MAC_LENGTH)
  if (raw.slice(2, 2 + MAC_LENGTH) !== mac(key, payload)) return null
  try {
    const cursor = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as ListCursor
    return typeof cursor === 'object' && cursor !== null && (cursor.m === 's' || cursor.m === 'c')
      ? cursor
      : null
  } catch {
    return null
  }
}
