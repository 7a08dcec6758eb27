/**
 * Keys for binding list cursors to their connection (contract §4), derived from the vault key
 * ring so there is no second secret to deploy or rotate: one HMAC key per vault key (HKDF-SHA256
 * with its own label, so the X25519 key is never used for two purposes). A cursor names its key
 * by a short tag, and every key of the ring is accepted: cursors survive a rotation while the
 * old key stays in `VAULT_KEYS`.
 */
import { createHash, hkdfSync } from 'node:crypto'
import type { VaultKeySpec } from '../config.ts'

export interface CursorKey {
  /** 6 base64url characters naming the key inside a cursor (not the kid, which stays private). */
  tag: string
  key: Buffer
}

export interface CursorKeys {
  /** Seals new cursors: derived from the first vault key. */
  active: CursorKey
  byTag(tag: string): CursorKey | undefined
}

export const CURSOR_TAG_LENGTH = 6
const INFO = 'cloud-connector cursor binding v1'

export function deriveCursorKeys(vaultKeys: readonly VaultKeySpec[]): CursorKeys {
  if (vaultKeys.length === 0) throw new TypeError('cursor keys: the vault key ring is empty')
  const keys = vaultKeys.map(({ secretKey }) => {
    const key = Buffer.from(hkdfSync('sha256', secretKey, '', INFO, 32))
    const tag = createHash('sha256')
      .update('tag')
      .update(key)
      .digest('base64url')
      .slice(0, CURSOR_TAG_LENGTH)
    return { tag, key }
  })
  const byTag = new Map(keys.map((entry) => [entry.tag, entry]))
  return { active: keys[0] as CursorKey, byTag: (tag) => byTag.get(tag) }
}
