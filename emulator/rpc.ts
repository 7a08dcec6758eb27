/**
 * The `/2/*` RPC pipeline, in the order the answers can be told apart: malformed request
 * (400 plain text) → token (401 JSON) → scope (401 `missing_scope`) → path root (422) → the
 * route itself (200, or 409 with the route's error). Dropbox does not document the order of
 * the checks; this one never lets a bad token learn anything about the arguments.
 */
import type { Account } from './accounts.ts'
import { ArgError } from './arg-validation.ts'
import type { NamespaceTree } from './file-tree.ts'
import { badRequest, errorEnvelope, type Reply } from './http-io.ts'
import { parsePathRoot, resolvePathRoot } from './path-root.ts'
import type { EmulatorState } from './state.ts'
import type { AccessToken } from './tokens.ts'

export interface RpcContext {
  readonly state: EmulatorState
  readonly reply: Reply
  readonly fn: string
  readonly account: Account
  readonly token: AccessToken
  /** The namespace paths resolve in, after the path-root header. */
  readonly root: NamespaceTree
}

export interface RpcRoute {
  /** e.g. `files/list_folder`. */
  readonly fn: string
  readonly scope: string | null
  /** Void-argument routes take no body (or `null`). */
  readonly validate: ((arg: unknown) => Record<string, unknown>) | null
  /** Takes app auth (HTTP Basic) as well as a user token. */
  readonly appAuth?: boolean
  handle(ctx: RpcContext, arg: Record<string, unknown>): void
}

type Headers = Record<string, string | string[] | undefined>

const JSON_TYPES = new Set([
  'application/json',
  'application/json;charset=utf-8',
  'text/plain;charset=dropbox-cors-hack',
])
const EXPECTED_TYPES =
  '"application/json", "application/json; charset=utf-8", "text/plain; charset=dropbox-cors-hack"'

export function handleRpc(
  state: EmulatorState,
  route: RpcRoute,
  headers: Headers,
  query: string,
  body: Buffer,
  reply: Reply,
): void {
  const credential = authorization(headers, query)
  if (credential === null) {
    badRequest(
      reply,
      route.fn,
      'Must provide HTTP header "Authorization" or URL parameter "authorization".',
    )
    return
  }
  const bearer = /^Bearer (\S+)$/i.exec(credential)?.[1]
  const basic = bearer === undefined && route.appAuth === true && /^Basic \S+$/i.test(credential)
  if (bearer === undefined && !basic) {
    const scheme = credential.split(' ')[0] ?? ''
    badRequest(
      reply,
      route.fn,
      `Invalid authorization value in HTTP header "Authorization": "${scheme}${scheme === credential ? '' : ' …'}". Expecting "Bearer <oauth2-access-token>".`,
    )
    return
  }
  let arg: Record<string, unknown>
  let pathRoot: ReturnType<typeof parsePathRoot>
  try {
    arg = parseArg(route, headers, body)
  } catch (error) {
    if (!(error instanceof RequestError)) throw error
    badRequest(reply, route.fn, error.message)
    return
  }
  try {
    pathRoot = parsePathRoot(header(headers, 'dropbox-api-path-root'))
  } catch (error) {
    if (!(error instanceof ArgError)) throw error
    badRequest(reply, route.fn, `HTTP header "Dropbox-API-Path-Root": ${error.message}`)
    return
  }
  if (basic) {
    appAuthAnswer(state, credential, route, reply)
    return
  }
  const token = state.tokens.accessToken(bearer as string)
  if (token === undefined || token.revoked) {
    reply.json(401, errorEnvelope(['invalid_access_token'], { '.tag': 'invalid_access_token' }))
    return
  }
  if (state.tokens.isAccessTokenExpired(token)) {
    reply.json(401, errorEnvelope(['expired_access_token'], { '.tag': 'expired_access_token' }))
    return
  }
  if (route.scope !== null && !token.scopes.has(route.scope)) {
    reply.json(401, missingScope(route.scope))
    return
  }
  const account = state.accounts.get(token.accountId)
  if (account === undefined) {
    reply.json(401, errorEnvelope(['invalid_access_token'], { '.tag': 'invalid_access_token' }))
    return
  }
  const root = resolvePathRoot(account, pathRoot, state.tree.namespaces)
  if (!root.ok) {
    reply.json(422, errorEnvelope(root.tags, root.error))
    return
  }
  route.handle({ state, reply, fn: route.fn, account, token, root: root.ns }, arg)
}

class RequestError extends Error {}

function parseArg(route: RpcRoute, headers: Headers, body: Buffer): Record<string, unknown> {
  const rawType = header(headers, 'content-type')
  const contentType = rawType?.toLowerCase().replace(/\s+/g, '')
  if (route.validate === null && body.length === 0) {
    // The SDK sends Void routes without a body or Content-Type; a form type is still refused.
    if (contentType !== undefined && !JSON_TYPES.has(contentType)) throw badContentType(rawType)
    return {}
  }
  if (contentType === undefined || !JSON_TYPES.has(contentType)) throw badContentType(rawType)
  let value: unknown
  try {
    value = JSON.parse(body.toString('utf8'))
  } catch {
    throw new RequestError('request body: could not decode input as JSON')
  }
  if (route.validate === null) {
    if (value !== null) throw new RequestError('request body: expected null, got value')
    return {}
  }
  try {
    return route.validate(value)
  } catch (error) {
    if (!(error instanceof ArgError)) throw error
    throw new RequestError(`request body: ${error.message}`)
  }
}

/** Dropbox's wording, two spaces included; a missing header shows as "" (unverified). */
function badContentType(raw: string | undefined): RequestError {
  return new RequestError(
    `Bad HTTP "Content-Type" header: ${JSON.stringify(raw ?? '')}.  Expecting one of ${EXPECTED_TYPES}.`,
  )
}

function authorization(headers: Headers, query: string): string | null {
  const value = header(headers, 'authorization')
  if (value !== undefined) return value.trim()
  // Dropbox also takes the credential as an `authorization` URL parameter (for CORS).
  if (query === '') return null
  return new URLSearchParams(query).get('authorization')
}

function header(headers: Headers, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value.join(', ') : value
}

export function missingScope(scope: string): string {
  return errorEnvelope(['missing_scope'], { '.tag': 'missing_scope', required_scope: scope })
}

/**
 * App auth (key:secret) reaches list_folder only for shared links; without one Dropbox
 * answers `missing_scope` (dropbox-sdk-js#1052). Bad app credentials: `invalid_access_token`
 * (unverified).
 */
function appAuthAnswer(
  state: EmulatorState,
  credential: string,
  route: RpcRoute,
  reply: Reply,
): void {
  const decoded = Buffer.from(credential.slice(6).trim(), 'base64').toString('utf8')
  const colon = decoded.indexOf(':')
  const app = state.apps.get(decoded.slice(0, colon))
  if (colon < 1 || app === undefined || app.appSecret !== decoded.slice(colon + 1)) {
    reply.json(401, errorEnvelope(['invalid_access_token'], { '.tag': 'invalid_access_token' }))
    return
  }
  reply.json(401, missingScope(route.scope ?? 'files.metadata.read'))
}

export function routeError(ctx: RpcContext, tags: string[], error: Record<string, unknown>): void {
  ctx.reply.json(409, errorEnvelope(tags, error))
}
