/** The `/v1/connection` view of a connection: metadata only, never a token (contract §5). */
import type { TokenSet } from '../cloud/models.ts'
import type { Connection } from '../vault/ports.ts'

export interface ConnectionStatusView {
  provider: 'dropbox'
  status: 'connected' | 'reconnect_required' | 'not_connected'
  account_id?: string
  email?: string | null
  scopes?: string[]
  connected_at?: string
  access_token_expires_at?: string
}

export function connectionStatusView(
  connection: Connection | null,
  tokens: TokenSet | null,
): ConnectionStatusView {
  if (!connection) return { provider: 'dropbox', status: 'not_connected' }
  return {
    provider: connection.provider,
    status: connection.status,
    account_id: connection.accountId,
    email: connection.email,
    scopes: connection.scopes,
    connected_at: connection.connectedAt.toISOString(),
    ...(tokens ? { access_token_expires_at: tokens.accessTokenExpiresAt.toISOString() } : {}),
  }
}
