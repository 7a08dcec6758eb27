/**
 * The OAuth pieces for Dropbox, and the legacy static-token auth.
 *
 * The token endpoint is called directly, not through the SDK: the SDK puts the code, the
 * verifier and the client secret into the URL's query string unencoded, and never sends the
 * PKCE verifier when a client secret is set (docs/decisions.md, "The token exchange is ours").
 */
import { Dropbox } from 'dropbox'
import {
  CloudError,
  ReconnectRequiredError,
  upstreamMalformed,
  upstreamTimeout,
  upstreamUnavailable,
} from '../cloud/errors.ts'
import type { CloudAccount, RootInfo } from '../cloud/models.ts'
import type {
  CloudAuth,
  GrantedTokens,
  RefreshedTokens,
  RevokeOutcome,
  TokenSource,
} from '../cloud/protocols.ts'
import { callWithRetries, type RetryPolicy } from '../cloud/upstream-policy.ts'
import type { DropboxServiceDeps } from './dropbox-service.ts'
import { DropboxService } from './dropbox-service.ts'
import { AccessTokenRejected, translateDropboxError } from './errors.ts'

export interface DropboxAppConfig {
  appKey: string
  appSecret: string
  redirectUri: string
  scopes: string[]
  authorizeUrl: string
  forceReapprove: boolean
}

interface TokenResponse {
  access_token?: unknown
  token_type?: unknown
  expires_in?: unknown
  refresh_token?: unknown
  scope?: unknown
  account_id?: unknown
  error?: unknown
}

/** RFC 3986 encoding: spaces as %20, never `+`, so scopes survive any strict parser. */
function encodeQuery(params: Record<string, string>): string {
  return Object.entries(params)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join('&')
}

export class DropboxAuth implements CloudAuth {
  readonly #app: DropboxAppConfig
  readonly #service: Omit<DropboxServiceDeps, 'workspace'> & {
    workspace: DropboxServiceDeps['workspace']
  }
  readonly #clock: () => number

  constructor(app: DropboxAppConfig, service: DropboxServiceDeps, clock: () => number) {
    this.#app = app
    this.#service = service
    this.#clock = clock
  }

  authorizeUrl({ state, codeChallenge }: { state: string; codeChallenge: string }): string {
    const query = encodeQuery({
      client_id: this.#app.appKey,
      response_type: 'code',
      redirect_uri: this.#app.redirectUri,
      state,
      code_challenge: codeChallenge,
      code_challenge_method: 'S256',
      token_access_type: 'offline',
      scope: this.#app.scopes.join(' '),
      // The person always sees, and can switch, the account being linked (contract §3.2).
      ...(this.#app.forceReapprove ? { force_reapprove: 'true' } : {}),
    })
    const url = new URL(this.#app.authorizeUrl)
    return `${url.origin}${url.pathname}?${query}`
  }

  async exchangeCode({
    code,
    codeVerifier,
  }: {
    code: string
    codeVerifier: string
  }): Promise<GrantedTokens> {
    // Never retried (contract §3.4): a lost answer may already have spent the code, and a
    // replayed code makes Dropbox revoke what the first exchange granted.
    const body = await this.#tokenRequest(
      'oauth2/token authorization_code',
      {
        grant_type: 'authorization_code',
        code,
        redirect_uri: this.#app.redirectUri,
        code_verifier: codeVerifier,
      },
      { retry: false },
    )
    if (
      typeof body.access_token !== 'string' ||
      typeof body.refresh_token !== 'string' ||
      typeof body.expires_in !== 'number' ||
      typeof body.account_id !== 'string'
    ) {
      throw upstreamMalformed('the authorization-code exchange')
    }
    return {
      accessToken: body.access_token,
      accessTokenExpiresAt: new Date(this.#clock() + body.expires_in * 1000),
      refreshToken: body.refresh_token,
      scopes:
        typeof body.scope === 'string' ? body.scope.split(' ').filter(Boolean) : this.#app.scopes,
      tokenType: typeof body.token_type === 'string' ? body.token_type : 'bearer',
      accountId: body.account_id,
    }
  }

  async refresh(refreshToken: string): Promise<RefreshedTokens> {
    const body = await this.#tokenRequest('oauth2/token refresh_token', {
      grant_type: 'refresh_token',
      refresh_token: refreshToken,
    })
    // Without expires_in the expiry is unknowable; refusing beats caching a token forever.
    if (typeof body.access_token !== 'string' || typeof body.expires_in !== 'number') {
      throw upstreamMalformed('the token refresh')
    }
    return {
      accessToken: body.access_token,
      accessTokenExpiresAt: new Date(this.#clock() + body.expires_in * 1000),
      refreshToken: typeof body.refresh_token === 'string' ? body.refresh_token : null,
    }
  }

  /**
   * `auth/token/revoke` disables the token's whole grant (its refresh token too). A refused
   * token is told apart from an unreachable Dropbox: the first is refreshed and revoked again,
   * the second queued (contract §7).
   */
  async revoke(accessToken: string): Promise<RevokeOutcome> {
    const { transport, policy, metrics } = this.#service
    const operation = 'auth/token/revoke'
    try {
      await callWithRetries(policy, async (deadline) => {
        try {
          await new Dropbox({ accessToken, fetch: transport.fetch }).authTokenRevoke({
            signal: deadline.signal,
          })
        } catch (raw) {
          const { error, outcome } = translateDropboxError(raw, operation, deadline)
          metrics.countUpstreamCall(operation, outcome)
          throw error
        }
      })
      metrics.countUpstreamCall(operation, 'ok')
      return 'revoked'
    } catch (error) {
      return error instanceof AccessTokenRejected || error instanceof ReconnectRequiredError
        ? 'token_rejected'
        : 'unreachable'
    }
  }

  accountForToken(accessToken: string): Promise<CloudAccount> {
    return new DropboxService(
      new GrantedTokenSource(accessToken),
      this.#service,
    ).getCurrentAccount()
  }

  async #tokenRequest(
    operation: string,
    params: Record<string, string>,
    { retry }: { retry: boolean } = { retry: true },
  ): Promise<TokenResponse> {
    const { transport, metrics } = this.#service
    const policy = retry ? this.#service.policy : { ...this.#service.policy, maxAttempts: 1 }
    const credentials = Buffer.from(`${this.#app.appKey}:${this.#app.appSecret}`).toString('base64')
    return callWithRetries(policy, async (deadline) => {
      let response: Response
      try {
        response = (await transport.fetch(`${transport.apiBaseUrl}/oauth2/token`, {
          method: 'POST',
          headers: {
            authorization: `Basic ${credentials}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body: encodeQuery(params),
          deadline,
        })) as unknown as Response
      } catch {
        metrics.countUpstreamCall(operation, deadline.aborted ? 'timeout' : 'network_error')
        throw deadline.aborted ? upstreamTimeout() : upstreamUnavailable()
      }
      let body: TokenResponse
      try {
        body = (await response.json()) as TokenResponse
      } catch {
        metrics.countUpstreamCall(operation, deadline.aborted ? 'timeout' : 'malformed')
        if (deadline.aborted) throw upstreamTimeout()
        if (response.status >= 500) throw upstreamUnavailable()
        throw upstreamMalformed(operation)
      }
      if (response.ok && typeof body === 'object' && body !== null) {
        metrics.countUpstreamCall(operation, 'ok')
        return body
      }
      if (response.status === 429) {
        metrics.countUpstreamCall(operation, 'rate_limited')
        const retryAfter = Number(response.headers.get('retry-after') ?? 1)
        throw new CloudError('upstream_rate_limited', 'Dropbox asks to slow down; retry later.', {
          retryAfterSeconds: Number.isFinite(retryAfter) ? retryAfter : 1,
        })
      }
      if (response.status >= 500) {
        metrics.countUpstreamCall(operation, 'server_error')
        throw upstreamUnavailable()
      }
      metrics.countUpstreamCall(operation, 'client_error')
      if (body?.error === 'invalid_grant') {
        throw params.grant_type === 'refresh_token'
          ? new ReconnectRequiredError()
          : new CloudError(
              'session_expired',
              'Dropbox no longer accepts this authorization: start a new connect session.',
            )
      }
      throw upstreamMalformed(operation)
    })
  }
}

/** A token just granted at connect time: no refresh is possible or needed for one call. */
class GrantedTokenSource implements TokenSource {
  readonly #token: string
  constructor(token: string) {
    this.#token = token
  }
  async accessToken() {
    return this.#token
  }
  async accessTokenAfterExpiry(): Promise<string> {
    throw new ReconnectRequiredError('Dropbox refused the token it just granted.')
  }
  rootInfo(): RootInfo {
    // get_current_account does not depend on the path root; home is the header-less default.
    return { type: 'user', rootNamespaceId: 'home', homeNamespaceId: 'home', homePath: null }
  }
  async updateRootInfo() {}
  async reconnectRequired() {}
}

/**
 * The legacy long-lived token auth (a fixed token from settings, Dropbox's retired
 * "legacy" token type). Kept and tested for parity; no runtime path selects it: connections
 * always come from the vault through `VaultTokenSource`.
 */
export class LegacyStaticTokenAuth implements TokenSource {
  readonly #token: string
  #rootInfo: RootInfo

  constructor(token: string, rootInfo: RootInfo) {
    if (token.trim() === '') throw new Error('LegacyStaticTokenAuth needs a token')
    this.#token = token
    this.#rootInfo = rootInfo
  }

  async accessToken(): Promise<string> {
    return this.#token
  }

  async accessTokenAfterExpiry(): Promise<string> {
    throw new ReconnectRequiredError(
      'The static Dropbox token was refused and cannot be refreshed.',
    )
  }

  rootInfo(): RootInfo {
    return this.#rootInfo
  }

  async updateRootInfo(rootInfo: RootInfo): Promise<void> {
    this.#rootInfo = rootInfo
  }

  /** Nothing stored to mark: the static token stays what the settings say. */
  async reconnectRequired(): Promise<void> {}
}

export type { RetryPolicy }
