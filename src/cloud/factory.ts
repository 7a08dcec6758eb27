/**
 * Picks the provider from config, and binds a client to one user's
 * stored tokens per request. The legacy static-token auth is never selected here.
 */

import { createDropboxProvider } from '../dropbox/provider.ts'
import type { Metrics } from '../observability/metrics.ts'
import type { ConnectionVault } from '../vault/ports.ts'
import type { CloudConfig } from './config.ts'
import { type CursorEnvelope, withBoundCursors } from './cursor-envelope.ts'
import { NotConnectedError, ReconnectRequiredError } from './errors.ts'
import type { CloudClient, CloudClientFactory, CloudProvider } from './protocols.ts'
import type { TokenRefresher } from './token-refresher.ts'
import { VaultTokenSource } from './token-source.ts'
import type { RetryPolicy } from './upstream-policy.ts'

export function createCloudProvider(
  config: CloudConfig,
  deps: { metrics: Metrics; clock: () => number; retryPolicy?: RetryPolicy },
): CloudProvider {
  switch (config.provider) {
    case 'dropbox':
      return createDropboxProvider(config, deps)
  }
}

export function createCloudClientFactory(deps: {
  provider: CloudProvider
  vault: ConnectionVault
  refresher: TokenRefresher
  clock: () => number
  /** Binds list cursors to the connection they were issued for (contract §4). */
  cursors: CursorEnvelope
}): CloudClientFactory {
  return {
    async forUser(userId: string): Promise<CloudClient> {
      const connection = await deps.vault.findByUser(userId, deps.provider.name)
      if (!connection) throw new NotConnectedError()
      if (connection.status === 'reconnect_required') throw new ReconnectRequiredError()
      const client = deps.provider.clientFor(
        new VaultTokenSource(connection, deps.vault, deps.refresher, deps.clock),
      )
      return withBoundCursors(client, deps.cursors, {
        connectionId: connection.id,
        accountId: connection.accountId,
      })
    },
  }
}
