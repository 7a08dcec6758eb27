/** Assembles the Dropbox provider: one transport (connection pool) shared by auth and clients. */

import type { CloudConfig } from '../cloud/config.ts'
import type { CloudProvider, TokenSource } from '../cloud/protocols.ts'
import { defaultRetryPolicy, type RetryPolicy } from '../cloud/upstream-policy.ts'
import type { Metrics } from '../observability/metrics.ts'
import { DropboxAuth } from './auth.ts'
import { createContentTransport } from './content-transport.ts'
import { DropboxService, type DropboxServiceDeps } from './dropbox-service.ts'
import { createDropboxTransport } from './transport.ts'
import { DropboxWorkspaceHandler } from './workspace-handler.ts'

export function createDropboxProvider(
  config: CloudConfig,
  deps: { metrics: Metrics; clock: () => number; retryPolicy?: RetryPolicy },
): CloudProvider {
  const transport = createDropboxTransport(config.dropbox.apiBaseUrl)
  const content = createContentTransport(config.dropbox.contentBaseUrl)
  const service: DropboxServiceDeps = {
    transport,
    content,
    policy: deps.retryPolicy ?? defaultRetryPolicy(config.upstreamTimeoutMs),
    metrics: deps.metrics,
    workspace: new DropboxWorkspaceHandler(config.workspaceRoot),
  }
  return {
    name: 'dropbox',
    auth: new DropboxAuth(config.dropbox, service, deps.clock),
    clientFor: (tokens: TokenSource) => new DropboxService(tokens, service),
    close: async () => {
      await Promise.all([transport.close(), content.close()])
    },
  }
}
