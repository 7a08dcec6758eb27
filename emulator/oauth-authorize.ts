/**
 * `GET /oauth2/authorize` (validate, show the consent page) and the consent form's POST
 * (redirect back with a code, or `access_denied`). Like Dropbox, every invalid request gets
 * an error page: nothing ever redirects to a URI that was not validated.
 */
import { type App, USER_SCOPES } from './apps.ts'
import { consentPage, errorPage, escapeHtml } from './authorize-page.ts'
import type { Reply } from './http-io.ts'
import { randomToken } from './ids.ts'
import { parseParams } from './params.ts'
import type { EmulatorState, PendingConsent } from './state.ts'
import { CODE_TTL_SECONDS } from './tokens.ts'

const KNOWN_PARAMS = new Set([
  'client_id',
  'response_type',
  'redirect_uri',
  'state',
  'token_access_type',
  'scope',
  'include_granted_scopes',
  'code_challenge',
  'code_challenge_method',
  'require_role',
  'force_reapprove',
  'disable_signup',
  'force_reauthentication',
  'locale',
])
const BOOLEAN_PARAMS = ['force_reapprove', 'disable_signup', 'force_reauthentication']
/** "Up to 500 bytes" (Dropbox's authorize docs as copied in dropbox-sdk-dotnet). */
const MAX_STATE_BYTES = 500
/** base64url(SHA-256) without padding is always 43 characters (RFC 7636 §4.2). */
const S256_CHALLENGE = /^[A-Za-z0-9_-]{43}$/
export const ACCESS_DENIED_DESCRIPTION =
  'The user chose not to give your app access to their Dropbox account.'

class AuthorizeError extends Error {}

/** The browser's sign-in at the emulated dropbox.com, like Dropbox's own session cookie. */
const SIGN_IN_COOKIE = 'emu_signin'

export function handleAuthorizeGet(
  state: EmulatorState,
  query: string,
  cookies: string,
  reply: Reply,
): void {
  const { values, duplicate } = parseParams(query)
  state.counters.recordAuthorize(values)
  let pending: PendingConsent
  try {
    if (duplicate !== null) throw new AuthorizeError(`duplicate field "${duplicate}"`)
    pending = validate(state, values)
  } catch (error) {
    if (!(error instanceof AuthorizeError)) throw error
    reply.html(400, errorPage(error.message))
    return
  }
  // Dropbox: without force_reapprove, "a user who has already approved the application may be
  // automatically redirected" — the signed-in account is linked without seeing any picker.
  const signedIn = state.signIns.get(cookieValue(cookies, SIGN_IN_COOKIE) ?? '')
  if (
    values.force_reapprove !== 'true' &&
    signedIn !== undefined &&
    pending.redirectUri !== null &&
    approved(state, pending, signedIn)
  ) {
    reply.redirect(answerLocation(pending.redirectUri, issueAnswer(state, pending, signedIn)))
    return
  }
  const requestId = randomToken(24)
  prune(state)
  state.pendingConsents.set(requestId, pending)
  reply.html(
    200,
    consentPage({
      requestId,
      appKey: pending.appKey,
      scopes: pending.scopes,
      accessType: pending.accessType,
      accounts: state.accounts.list().map((account) => ({
        accountId: account.accountId,
        displayName: account.displayName,
        email: account.email,
      })),
    }),
  )
}

export function handleConsentPost(
  state: EmulatorState,
  contentType: string,
  body: string,
  reply: Reply,
): void {
  if (!contentType.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
    reply.html(
      400,
      errorPage('The consent form must be posted as application/x-www-form-urlencoded.'),
    )
    return
  }
  const { values } = parseParams(body)
  const requestId = values.request_id ?? ''
  const pending = state.pendingConsents.get(requestId)
  // Single use, whatever the outcome: a replayed form never mints a second code.
  state.pendingConsents.delete(requestId)
  if (pending === undefined || state.clock.now() >= pending.expiresAt) {
    reply.html(
      400,
      errorPage('This authorization request is unknown, already answered or expired. Start again.'),
    )
    return
  }
  const account = state.accounts.get(values.account_id ?? '')
  if (account === undefined) {
    reply.html(400, errorPage(`Unknown account: ${JSON.stringify(values.account_id ?? '')}.`))
    return
  }
  const decision = values.decision
  if (decision !== 'allow' && decision !== 'deny') {
    reply.html(400, errorPage('decision must be "allow" or "deny".'))
    return
  }
  const answer: Record<string, string> =
    decision === 'allow'
      ? issueAnswer(state, pending, account.accountId)
      : { error: 'access_denied', error_description: ACCESS_DENIED_DESCRIPTION }
  if (pending.state !== null && decision === 'deny') answer.state = pending.state
  if (pending.redirectUri === null) {
    // No redirect_uri: Dropbox shows the code for the user to paste into the app.
    reply.html(200, noRedirectPage(answer))
    return
  }
  const headers: Record<string, string> = {}
  if (decision === 'allow') {
    const key = `${pending.appKey} ${account.accountId}`
    const scopes = state.approvals.get(key) ?? new Set<string>()
    for (const scope of pending.scopes) scopes.add(scope)
    state.approvals.set(key, scopes)
    const signIn = randomToken(24)
    state.signIns.set(signIn, account.accountId)
    headers['set-cookie'] = `${SIGN_IN_COOKIE}=${signIn}; Path=/; HttpOnly; SameSite=Lax`
  }
  reply.redirect(answerLocation(pending.redirectUri, answer), headers)
}

/** A code for `accountId` (and the request's `state`), as the redirect back carries them. */
function issueAnswer(
  state: EmulatorState,
  pending: PendingConsent,
  accountId: string,
): Record<string, string> {
  const answer: Record<string, string> = {
    code: state.tokens.issueCode({
      appKey: pending.appKey,
      accountId,
      redirectUri: pending.redirectUri,
      codeChallenge: pending.codeChallenge,
      accessType: pending.accessType,
      scopes: pending.scopes,
    }).code,
  }
  if (pending.state !== null) answer.state = pending.state
  return answer
}

function answerLocation(redirectUri: string, answer: Record<string, string>): string {
  const location = new URL(redirectUri)
  for (const [name, value] of Object.entries(answer)) location.searchParams.append(name, value)
  return location.href
}

/** The account approved this app earlier for at least every scope asked for now. */
function approved(state: EmulatorState, pending: PendingConsent, accountId: string): boolean {
  const scopes = state.approvals.get(`${pending.appKey} ${accountId}`)
  return scopes !== undefined && pending.scopes.every((scope) => scopes.has(scope))
}

function cookieValue(header: string, name: string): string | undefined {
  for (const part of header.split(';')) {
    const [key, ...value] = part.trim().split('=')
    if (key === name) return value.join('=')
  }
  return undefined
}

function validate(state: EmulatorState, params: Record<string, string>): PendingConsent {
  for (const name of Object.keys(params)) {
    if (!KNOWN_PARAMS.has(name)) throw new AuthorizeError(`unknown field "${name}"`)
  }
  const clientId = params.client_id
  if (clientId === undefined) throw new AuthorizeError('Missing required field "client_id".')
  const app = state.apps.get(clientId)
  if (app === undefined) throw new AuthorizeError(`Invalid client_id: ${JSON.stringify(clientId)}.`)
  const redirectUri = params.redirect_uri ?? null
  if (redirectUri !== null && !app.redirectUris.has(redirectUri)) {
    throw new AuthorizeError(
      "Invalid redirect_uri. It must exactly match one of the redirect URIs you've pre-configured for your app (including the path).",
    )
  }
  const responseType = params.response_type
  if (responseType === undefined)
    throw new AuthorizeError('Missing required field "response_type".')
  // Stricter than Dropbox: the legacy implicit flow (`token`) is refused outright.
  if (responseType !== 'code')
    throw new AuthorizeError(`Invalid response_type: ${JSON.stringify(responseType)}.`)
  const stateParam = params.state ?? null
  if (stateParam !== null && Buffer.byteLength(stateParam) > MAX_STATE_BYTES) {
    throw new AuthorizeError(`"state" is too long: at most ${MAX_STATE_BYTES} bytes.`)
  }
  for (const name of BOOLEAN_PARAMS) {
    if (params[name] !== undefined && params[name] !== 'true' && params[name] !== 'false') {
      throw new AuthorizeError(`"${name}" must be true or false.`)
    }
  }
  if (params.require_role !== undefined && !['work', 'personal'].includes(params.require_role)) {
    throw new AuthorizeError('"require_role" must be work or personal.')
  }
  return {
    appKey: app.appKey,
    redirectUri,
    state: stateParam,
    codeChallenge: codeChallenge(params),
    accessType: accessType(params.token_access_type),
    scopes: scopes(app, params),
    expiresAt: state.clock.now() + CODE_TTL_SECONDS * 1000,
  }
}

/** Stricter than Dropbox, which also takes `plain`: only S256, always with both fields. */
function codeChallenge(params: Record<string, string>): string | null {
  const challenge = params.code_challenge
  const method = params.code_challenge_method
  if (challenge === undefined && method === undefined) return null
  if (challenge === undefined)
    throw new AuthorizeError('"code_challenge_method" needs a "code_challenge".')
  if (method !== 'S256') throw new AuthorizeError('"code_challenge_method" must be S256.')
  if (!S256_CHALLENGE.test(challenge)) {
    throw new AuthorizeError(
      '"code_challenge" must be 43 base64url characters (the S256 of a verifier).',
    )
  }
  return challenge
}

/**
 * Without `token_access_type` the app's default applies; new apps default to short-lived
 * tokens without a refresh token. `legacy` (long-lived tokens) is refused: new apps cannot get them.
 */
function accessType(value: string | undefined): 'offline' | 'online' {
  if (value === undefined || value === 'online') return 'online'
  if (value === 'offline') return 'offline'
  if (value === 'legacy')
    throw new AuthorizeError('This app cannot request long-lived (legacy) tokens.')
  throw new AuthorizeError(`Invalid token_access_type: ${JSON.stringify(value)}.`)
}

function scopes(app: App, params: Record<string, string>): string[] {
  const include = params.include_granted_scopes
  if (include !== undefined) {
    if (include === 'team')
      throw new AuthorizeError('include_granted_scopes=team needs a team-linked app.')
    if (include !== 'user') throw new AuthorizeError('include_granted_scopes must be user or team.')
    if (params.scope === undefined)
      throw new AuthorizeError('include_granted_scopes needs "scope".')
  }
  // Omitted: every scope of the app's Permissions tab. Empty: a 400 (Dropbox community reports).
  if (params.scope === undefined) return [...app.scopes]
  const requested = [...new Set(params.scope.split(' ').filter((scope) => scope !== ''))]
  if (requested.length === 0) throw new AuthorizeError('"scope" must not be empty.')
  for (const scope of requested) {
    if (!(USER_SCOPES as readonly string[]).includes(scope)) {
      throw new AuthorizeError(`Invalid scope: ${JSON.stringify(scope)}.`)
    }
    if (!app.scopes.has(scope)) {
      throw new AuthorizeError(`The app does not have the ${JSON.stringify(scope)} scope enabled.`)
    }
  }
  return requested
}

function noRedirectPage(answer: Record<string, string>): string {
  const rows = Object.entries(answer)
    .map(([name, value]) => `<dt>${name}</dt><dd id="${name}">${escapeHtml(value)}</dd>`)
    .join('')
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Dropbox emulator</title></head><body><h1>Enter this code into the app to finish the process</h1><dl>${rows}</dl></body></html>`
}

function prune(state: EmulatorState): void {
  if (state.pendingConsents.size < 1000) return
  const now = state.clock.now()
  for (const [id, pending] of state.pendingConsents) {
    if (now >= pending.expiresAt) state.pendingConsents.delete(id)
  }
}
