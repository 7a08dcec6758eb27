/**
 * `POST /oauth2/token`. Parameters come from the query string (as the JS SDK sends them) or a
 * form body; the client authenticates with HTTP Basic, a `client_secret` parameter, or, for
 * PKCE public clients, not at all. Errors are `400 {"error", "error_description"}` as Dropbox
 * answers them, `invalid_client` included (Dropbox does not use 401 here).
 */
import { createHash } from 'node:crypto'
import type { App } from './apps.ts'
import type { Reply } from './http-io.ts'
import { parseParams } from './params.ts'
import type { EmulatorState } from './state.ts'
import type { AccessToken, AuthCode, Grant } from './tokens.ts'
import type { TokenRequestRecord } from './types.ts'

const KNOWN_PARAMS = new Set([
  'grant_type',
  'code',
  'redirect_uri',
  'code_verifier',
  'client_id',
  'client_secret',
  'refresh_token',
  'scope',
])
/** RFC 7636 §4.1. */
const VERIFIER_SHAPE = /^[A-Za-z0-9._~-]{43,128}$/

class TokenError extends Error {
  readonly error: string
  constructor(error: string, description: string) {
    super(description)
    this.error = error
  }
}

interface Client {
  app: App
  auth: TokenRequestRecord['clientAuth']
}

export function handleToken(
  state: EmulatorState,
  headers: Record<string, string | string[] | undefined>,
  query: string,
  body: Buffer,
  reply: Reply,
): void {
  try {
    reply.json(200, token(state, headers, query, body))
  } catch (error) {
    if (!(error instanceof TokenError)) throw error
    reply.json(400, { error: error.error, error_description: error.message })
  }
}

function token(
  state: EmulatorState,
  headers: Record<string, string | string[] | undefined>,
  query: string,
  body: Buffer,
): Record<string, unknown> {
  const contentType = String(headers['content-type'] ?? '').toLowerCase()
  const formBody = body.length > 0 ? body.toString('utf8') : ''
  if (formBody !== '' && !contentType.startsWith('application/x-www-form-urlencoded')) {
    // What the SDK's `dataOnBody` mode sends ("[object Object]" as JSON) ends here.
    throw new TokenError(
      'invalid_request',
      'request body must be application/x-www-form-urlencoded',
    )
  }
  // The Python SDK sends its flow's `locale` in the query and again in the body; Dropbox takes
  // that (unverified, but the official SDK does it), so it is set aside before the checks.
  const { values: params, duplicate } = parseParams(withoutLocale(query), withoutLocale(formBody))
  const authorization =
    typeof headers.authorization === 'string' ? headers.authorization : undefined
  const clientAuth =
    authorization !== undefined ? 'basic' : params.client_secret !== undefined ? 'param' : 'none'
  state.counters.recordTokenRequest({
    grantType: params.grant_type ?? '',
    params: { ...params },
    clientAuth,
  })

  if (duplicate !== null) throw new TokenError('invalid_request', `duplicate field "${duplicate}"`)
  for (const name of Object.keys(params)) {
    if (!KNOWN_PARAMS.has(name)) throw new TokenError('invalid_request', `unknown field "${name}"`)
  }
  const grantType = params.grant_type
  if (grantType === undefined)
    throw new TokenError('invalid_request', 'missing required field "grant_type"')
  if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
    throw new TokenError('unsupported_grant_type', `grant_type "${grantType}" is not supported`)
  }
  const client = authenticate(state, authorization, params)
  return grantType === 'authorization_code'
    ? exchangeCode(state, client, params)
    : refresh(state, client, params)
}

function withoutLocale(source: string): string {
  if (!source.includes('locale=')) return source
  const params = new URLSearchParams(source)
  params.delete('locale')
  return params.toString()
}

function authenticate(
  state: EmulatorState,
  authorization: string | undefined,
  params: Record<string, string>,
): Client {
  if (authorization !== undefined) {
    const match = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(authorization.trim())
    const decoded = match ? Buffer.from(match[1] as string, 'base64').toString('utf8') : ''
    const colon = decoded.indexOf(':')
    if (colon < 1)
      throw new TokenError(
        'invalid_client',
        'Invalid Authorization header: expected Basic app_key:app_secret',
      )
    // Dropbox refuses the key twice: with Basic auth a client_id parameter is an unknown field
    // (seen against the real API: pilcrowonpaper/oslo#90).
    if (params.client_id !== undefined)
      throw new TokenError('invalid_request', 'unknown field "client_id"')
    if (params.client_secret !== undefined)
      throw new TokenError('invalid_request', 'unknown field "client_secret"')
    return checkSecret(state, decoded.slice(0, colon), decoded.slice(colon + 1), 'basic')
  }
  const clientId = params.client_id
  if (clientId === undefined)
    throw new TokenError('invalid_request', 'missing required field "client_id"')
  if (params.client_secret !== undefined)
    return checkSecret(state, clientId, params.client_secret, 'param')
  const app = state.apps.get(clientId)
  if (app === undefined)
    throw new TokenError('invalid_client', 'Invalid client_id or client_secret')
  return { app, auth: 'none' }
}

function checkSecret(
  state: EmulatorState,
  appKey: string,
  secret: string,
  auth: 'basic' | 'param',
): Client {
  const app = state.apps.get(appKey)
  if (app === undefined || app.appSecret !== secret) {
    throw new TokenError('invalid_client', 'Invalid client_id or client_secret')
  }
  return { app, auth }
}

/** Dropbox's answer when neither a secret nor PKCE authenticates the client. */
const NO_AUTH = 'No auth function available for given request'

function exchangeCode(
  state: EmulatorState,
  client: Client,
  params: Record<string, string>,
): Record<string, unknown> {
  const value = params.code
  if (value === undefined) throw new TokenError('invalid_request', 'missing required field "code"')
  const code = state.tokens.code(value)
  if (code === undefined || code.appKey !== client.app.appKey || state.tokens.isCodeExpired(code)) {
    throw new TokenError('invalid_grant', "code doesn't exist or has expired")
  }
  if (code.grant !== null) {
    // A replayed code may have leaked: revoke what it granted (RFC 6749 §4.1.2). Stricter than known Dropbox.
    state.tokens.revokeGrant(code.grant)
    throw new TokenError('invalid_grant', "code doesn't exist or has expired")
  }
  if ((params.redirect_uri ?? null) !== code.redirectUri) {
    throw new TokenError('invalid_grant', 'redirect_uri mismatch')
  }
  checkVerifier(state, client, code, params.code_verifier)
  const grant = state.tokens.grantFromCode(code, client.auth === 'none')
  const access = state.tokens.issueAccessToken(grant)
  const account = state.accounts.require(grant.accountId)
  return {
    access_token: access.token,
    expires_in: state.tokens.accessTokenTtlSeconds,
    token_type: 'bearer',
    scope: access.scope,
    ...(grant.refreshToken === null ? {} : { refresh_token: grant.refreshToken }),
    account_id: account.accountId,
    uid: account.uid,
  }
}

function checkVerifier(
  state: EmulatorState,
  client: Client,
  code: AuthCode,
  verifier: string | undefined,
): void {
  if (code.codeChallenge === null) {
    if (verifier !== undefined) {
      throw new TokenError(
        'invalid_grant',
        'code_verifier given, but the code was issued without a code_challenge',
      )
    }
    if (client.auth === 'none') throw new TokenError('invalid_request', NO_AUTH)
    return
  }
  // The challenge binds the code even for a confidential client (RFC 7636 §4.6): no verifier, no token.
  if (verifier === undefined) throw new TokenError('invalid_grant', 'missing code_verifier')
  if (!VERIFIER_SHAPE.test(verifier)) {
    throw new TokenError(
      'invalid_request',
      'code_verifier must be 43-128 characters of [A-Za-z0-9._~-]',
    )
  }
  const computed = createHash('sha256').update(verifier).digest('base64url')
  if (computed !== code.codeChallenge) {
    // A wrong guess burns the code, so it cannot be brute-forced.
    state.tokens.burnCode(code)
    throw new TokenError('invalid_grant', 'invalid code verifier')
  }
}

function refresh(
  state: EmulatorState,
  client: Client,
  params: Record<string, string>,
): Record<string, unknown> {
  const value = params.refresh_token
  if (value === undefined)
    throw new TokenError('invalid_request', 'missing required field "refresh_token"')
  if (!state.tokens.isRefreshTokenShaped(value))
    throw new TokenError('invalid_grant', 'refresh token is malformed')
  const grant = state.tokens.refreshGrant(value)
  if (grant === undefined || grant.appKey !== client.app.appKey) {
    throw new TokenError('invalid_grant', 'refresh token is invalid or revoked')
  }
  if (client.auth === 'none' && !grant.pkce) throw new TokenError('invalid_request', NO_AUTH)
  const access = state.tokens.issueAccessToken(grant, requestedScopes(grant, params.scope))
  return refreshAnswer(state, access)
}

function requestedScopes(grant: Grant, scope: string | undefined): readonly string[] {
  if (scope === undefined) return grant.scopes
  const requested = [...new Set(scope.split(' ').filter((s) => s !== ''))]
  if (requested.length === 0 || requested.some((s) => !grant.scopes.includes(s))) {
    throw new TokenError('invalid_scope', 'requested scope is not a subset of the granted scopes')
  }
  return requested
}

/** No new refresh token: Dropbox's refresh tokens do not rotate. */
function refreshAnswer(state: EmulatorState, access: AccessToken): Record<string, unknown> {
  return {
    access_token: access.token,
    token_type: 'bearer',
    expires_in: state.tokens.accessTokenTtlSeconds,
    scope: access.scope,
  }
}
