/** Maps connection rows to the port's shapes and seals/opens their token columns. */
import type { RootInfo, TokenSet } from '../cloud/models.ts'
import type { KeyRing } from './crypto/key-ring.ts'
import { rowBinding as binding, openSecret, sealSecret } from './crypto/sealed-box.ts'
import type { Connection } from './ports.ts'
import type { ConnectionRow } from './store.ts'

type RowIdentity = Pick<ConnectionRow, 'id' | 'userId' | 'provider'>

/** Both tokens go under the active key, so the row's single `key_id` opens them. */
export function sealTokens(ring: KeyRing, row: RowIdentity, tokens: TokenSet) {
  const access = sealSecret(ring, tokens.accessToken, binding(row, 'access_token'))
  const refresh = sealSecret(ring, tokens.refreshToken, binding(row, 'refresh_token'))
  return {
    accessToken: access.ciphertext,
    refreshToken: refresh.ciphertext,
    accessTokenExpiresAt: tokens.accessTokenExpiresAt,
    keyId: access.keyId,
  }
}

export function openTokens(
  ring: KeyRing,
  row: RowIdentity &
    Pick<ConnectionRow, 'accessToken' | 'refreshToken' | 'keyId'> & {
      accessTokenExpiresAt: Date
    },
): TokenSet {
  return {
    accessToken: openSecret(
      ring,
      { keyId: row.keyId, ciphertext: row.accessToken },
      binding(row, 'access_token'),
    ),
    accessTokenExpiresAt: row.accessTokenExpiresAt,
    refreshToken: openSecret(
      ring,
      { keyId: row.keyId, ciphertext: row.refreshToken },
      binding(row, 'refresh_token'),
    ),
  }
}

/** For tokens handed back only for revocation: unreadable ones are simply not revoked. */
export function openTokensOrNull(ring: KeyRing, row: ConnectionRow): TokenSet | null {
  try {
    return openTokens(ring, row)
  } catch {
    return null
  }
}

export function rootColumns(rootInfo: RootInfo) {
  return {
    rootType: rootInfo.type,
    rootNamespaceId: rootInfo.rootNamespaceId,
    homeNamespaceId: rootInfo.homeNamespaceId,
    homePath: rootInfo.homePath,
  }
}

export function toConnection(row: ConnectionRow): Connection {
  return {
    id: row.id,
    userId: row.userId,
    provider: row.provider,
    accountId: row.accountId,
    email: row.email,
    scopes: [...row.scopes],
    tokenType: row.tokenType,
    rootInfo: {
      type: row.rootType,
      rootNamespaceId: row.rootNamespaceId,
      homeNamespaceId: row.homeNamespaceId,
      homePath: row.homePath,
    },
    status: row.status,
    version: row.version,
    connectedAt: row.connectedAt,
    updatedAt: row.updatedAt,
  }
}
