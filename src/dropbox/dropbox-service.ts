/**
 * The seed's Dropbox service: the CloudClient protocol on the official SDK, bound to one
 * user's tokens. Handles the reactive refresh (401 → refresh → retry once) and the path-root
 * move (422 `invalid_root` → store the new root → retry once).
 */
import { Dropbox, type DropboxResponse } from 'dropbox'
import { ReconnectRequiredError, upstreamMalformed } from '../cloud/errors.ts'
import type { CloudAccount, CloudListing, ListFolderRequest } from '../cloud/models.ts'
import type { CloudClient, TokenSource } from '../cloud/protocols.ts'
import { callWithRetries, type RetryPolicy } from '../cloud/upstream-policy.ts'
import type { Metrics } from '../observability/metrics.ts'
import { AccessTokenRejected, PathRootChanged, translateDropboxError } from './errors.ts'
import { toCloudAccount, toCloudListing } from './mappers.ts'
import { pathRootHeader } from './root-info.ts'
import type { DropboxTransport } from './transport.ts'
import type { DropboxWorkspaceHandler } from './workspace-handler.ts'

export interface DropboxServiceDeps {
  transport: DropboxTransport
  policy: RetryPolicy
  metrics: Metrics
  workspace: DropboxWorkspaceHandler
}

type Invoke<T> = (client: Dropbox, signal: AbortSignal) => Promise<DropboxResponse<T>>

export class DropboxService implements CloudClient {
  readonly #tokens: TokenSource
  readonly #deps: DropboxServiceDeps

  constructor(tokens: TokenSource, deps: DropboxServiceDeps) {
    this.#tokens = tokens
    this.#deps = deps
  }

  async getCurrentAccount(): Promise<CloudAccount> {
    const account = toCloudAccount(
      await this.#call('users/get_current_account', (client, signal) =>
        client.usersGetCurrentAccount({ signal }),
      ),
    )
    // A call without the path-root header never sees `invalid_root`, so an account moved into
    // a team space is only noticed here: store its new root so later calls address it.
    const stored = this.#tokens.rootInfo()
    if (
      account.root.rootNamespaceId !== stored.rootNamespaceId ||
      account.root.homeNamespaceId !== stored.homeNamespaceId
    ) {
      await this.#tokens.updateRootInfo(account.root)
    }
    return account
  }

  async listFolder(request: ListFolderRequest): Promise<CloudListing> {
    const path = this.#deps.workspace.toDropboxPath(request.path)
    const result = await this.#call('files/list_folder', (client, signal) =>
      client.filesListFolder(
        { path, recursive: request.recursive, limit: request.limit, include_deleted: false },
        { signal },
      ),
    )
    const relative = this.#deps.workspace.toRelativePath({
      path_lower: path.toLowerCase(),
      path_display: path,
    })
    return toCloudListing(result, relative, this.#deps.workspace)
  }

  async listFolderContinue(cursor: string): Promise<CloudListing> {
    const result = await this.#call('files/list_folder/continue', (client, signal) =>
      client.filesListFolderContinue({ cursor }, { signal }),
    )
    return toCloudListing(result, null, this.#deps.workspace)
  }

  async #call<T>(operation: string, invoke: Invoke<T>): Promise<T> {
    const { transport, policy, metrics } = this.#deps
    let token = await this.#tokens.accessToken()
    let tokenRetried = false
    let rootRetried = false
    for (;;) {
      try {
        return await callWithRetries(policy, async (signal) => {
          const client = new Dropbox({
            accessToken: token,
            fetch: transport.fetch,
            pathRoot: pathRootHeader(this.#tokens.rootInfo()),
          })
          try {
            const response = await invoke(client, signal)
            metrics.countUpstreamCall(operation, 'ok')
            return response.result
          } catch (raw) {
            const { error, outcome } = translateDropboxError(raw, operation, signal)
            metrics.countUpstreamCall(operation, outcome)
            throw error
          }
        })
      } catch (error) {
        if (error instanceof AccessTokenRejected) {
          if (tokenRetried) throw new ReconnectRequiredError()
          tokenRetried = true
          token = await this.#tokens.accessTokenAfterExpiry(token)
          continue
        }
        if (error instanceof PathRootChanged) {
          if (rootRetried) throw upstreamMalformed(operation)
          rootRetried = true
          await this.#tokens.updateRootInfo(error.rootInfo)
          continue
        }
        throw error
      }
    }
  }
}
