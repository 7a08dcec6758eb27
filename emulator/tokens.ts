/**
 * Authorization codes, grants (one per code exchange: its refresh token and every access
 * token minted from it) and access tokens. All lookups are Map reads: the benchmark
 * authenticates every call here.
 */
import type { Clock } from './clock.ts'
import { randomToken } from './ids.ts'

/** Unknown how long Dropbox keeps a code; ten minutes matches the connect session. */
export const CODE_TTL_SECONDS = 600

export interface CodeRequest {
  appKey: string
  accountId: string
  redirectUri: string | null
  codeChallenge: string | null
  accessType: 'offline' | 'online'
  scopes: readonly string[]
}

export interface AuthCode extends CodeRequest {
  readonly code: string
  readonly expiresAt: number
  /** Set once exchanged; a replay revokes it (RFC 6749 §4.1.2). */
  grant: Grant | null
}

export interface Grant {
  readonly appKey: string
  readonly accountId: string
  readonly scopes: readonly string[]
  readonly refreshToken: string | null
  /** Issued to a public client (PKCE, no secret): it may refresh without a secret. */
  readonly pkce: boolean
  revoked: boolean
  readonly accessTokens: Set<AccessToken>
}

export interface AccessToken {
  readonly token: string
  readonly grant: Grant
  readonly accountId: string
  readonly scopes: ReadonlySet<string>
  readonly scope: string
  readonly issuedAt: number
  readonly expiresAt: number
  expired: boolean
  revoked: boolean
}

const REFRESH_TOKEN_SHAPE = /^[A-Za-z0-9_-]{64}$/

export class TokenStore {
  readonly #codes = new Map<string, AuthCode>()
  readonly #refreshTokens = new Map<string, Grant>()
  readonly #accessTokens = new Map<string, AccessToken>()
  readonly #clock: Clock
  readonly #ttlSeconds: number

  constructor(clock: Clock, accessTokenTtlSeconds: number) {
    this.#clock = clock
    this.#ttlSeconds = accessTokenTtlSeconds
  }

  get accessTokenTtlSeconds(): number {
    return this.#ttlSeconds
  }

  issueCode(request: CodeRequest): AuthCode {
    const code: AuthCode = {
      ...request,
      code: randomToken(32),
      expiresAt: this.#clock.now() + CODE_TTL_SECONDS * 1000,
      grant: null,
    }
    this.#codes.set(code.code, code)
    return code
  }

  code(code: string): AuthCode | undefined {
    return this.#codes.get(code)
  }

  isCodeExpired(code: AuthCode): boolean {
    return this.#clock.now() >= code.expiresAt
  }

  /** Consumes the code for good. */
  grantFromCode(code: AuthCode, pkce: boolean): Grant {
    const grant: Grant = {
      appKey: code.appKey,
      accountId: code.accountId,
      scopes: code.scopes,
      refreshToken: code.accessType === 'offline' ? randomToken(48) : null,
      pkce,
      revoked: false,
      accessTokens: new Set(),
    }
    code.grant = grant
    if (grant.refreshToken !== null) this.#refreshTokens.set(grant.refreshToken, grant)
    return grant
  }

  /** Spends a code without granting anything (a failed PKCE check). */
  burnCode(code: AuthCode): void {
    code.grant = {
      appKey: code.appKey,
      accountId: code.accountId,
      scopes: [],
      refreshToken: null,
      pkce: false,
      revoked: true,
      accessTokens: new Set(),
    }
  }

  issueAccessToken(grant: Grant, scopes: readonly string[] = grant.scopes): AccessToken {
    const now = this.#clock.now()
    const token: AccessToken = {
      token: `sl.${randomToken(105)}`,
      grant,
      accountId: grant.accountId,
      scopes: new Set(scopes),
      scope: scopes.join(' '),
      issuedAt: now,
      expiresAt: now + this.#ttlSeconds * 1000,
      expired: false,
      revoked: false,
    }
    grant.accessTokens.add(token)
    this.#accessTokens.set(token.token, token)
    return token
  }

  isRefreshTokenShaped(token: string): boolean {
    return REFRESH_TOKEN_SHAPE.test(token)
  }

  refreshGrant(refreshToken: string): Grant | undefined {
    const grant = this.#refreshTokens.get(refreshToken)
    return grant === undefined || grant.revoked ? undefined : grant
  }

  accessToken(token: string): AccessToken | undefined {
    return this.#accessTokens.get(token)
  }

  isAccessTokenExpired(token: AccessToken): boolean {
    return token.expired || this.#clock.now() >= token.expiresAt
  }

  /** auth.stone: revoking disables the refresh token and every access token of the grant. */
  revokeGrant(grant: Grant): void {
    grant.revoked = true
    for (const token of grant.accessTokens) {
      token.revoked = true
      this.#accessTokens.delete(token.token)
    }
    if (grant.refreshToken !== null) this.#refreshTokens.delete(grant.refreshToken)
  }

  expireAccessTokens(accountId?: string, olderThanMs = 0): void {
    const issuedBy = this.#clock.now() - olderThanMs
    for (const token of this.#accessTokens.values()) {
      if (accountId !== undefined && token.accountId !== accountId) continue
      if (token.issuedAt <= issuedBy) token.expired = true
    }
  }

  revokeRefreshTokens(accountId: string): void {
    for (const grant of this.#refreshTokens.values()) {
      if (grant.accountId === accountId) {
        grant.revoked = true
        if (grant.refreshToken !== null) this.#refreshTokens.delete(grant.refreshToken)
      }
    }
  }
}
