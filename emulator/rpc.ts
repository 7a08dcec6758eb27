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
import { type PathRoot, parsePathRoot, resolvePathRoot } from './path-root.ts'
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

export type Headers = Record<string, string | string[] | undefined>

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
  const credential = readCredential(headers, query, route.fn, route.appAuth === true, reply)
  if (credential === null) return
  let arg: Record<string, unknown>
  try {
    arg = parseArg(route, headers, body)
  } catch (error) {
    if (!(error instanceof RequestError)) throw error
    badRequest(reply, route.fn, error.message)
    return
  }
  const pathRoot = readPathRoot(headers, route.fn, reply)
  if (pathRoot === null) return
  if (credential.basic !== undefined) {
    appAuthAnswer(state, credential.basic, route, reply)
    return
  }
  const caller = authorizeCaller(state, credential.bearer, route.scope, pathRoot, reply)
  if (caller === null) return
  route.handle({ state, reply, fn: route.fn, ...caller }, arg)
}

export type Credential =
  | { bearer: string; basic?: undefined }
  | { bearer?: undefined; basic: string }

/** The `Authorization` header (or URL parameter); null once a 400 has been answered. */
export function readCredential(
  headers: Headers,
  query: string,
  fn: string,
  appAuth: boolean,
  reply: Reply,
): Credential | null {
  const credential = authorization(headers, query)
  if (credential === null) {
    badRequest(
      reply,
      fn,
      'Must provide HTTP header "Authorization" or URL parameter "authorization".',
    )
    return null
  }
  const bearer = /^Bearer (\S+)$/i.exec(credential)?.[1]
  if (bearer !== undefined) return { bearer }
  if (appAuth && /^Basic \S+$/i.test(credential)) return { basic: credential }
  const scheme = credential.split(' ')[0] ?? ''
  badRequest(
    reply,
    fn,
    `Invalid authorization value in HTTP header "Authorization": "${scheme}${scheme === credential ? '' : ' …'}". Expecting "Bearer <oauth2-access-token>".`,
  )
  return null
}

/** `Dropbox-API-Path-Root`; null once a 400 has been answered. */
export function readPathRoot(headers: Headers, fn: string, reply: Reply): PathRoot | null {
  try {
    return parsePathRoot(header(headers, 'dropbox-api-path-root'))
  } catch (error) {
    if (!(error instanceof ArgError)) throw error
    badRequest(reply, fn, `HTTP header "Dropbox-API-Path-Root": ${error.message}`)
    return null
  }
}

/** Token (401), scope (401 `missing_scope`), then path root (422); null once answered. */
export function authorizeCaller(
  state: EmulatorState,
  bearer: string,
  scope: string | null,
  pathRoot: PathRoot,
  reply: Reply,
): Pick<RpcContext, 'account' | 'token' | 'root'> | null {
  const token = state.tokens.accessToken(bearer)
  if (token === undefined || token.revoked) {
    reply.json(401, errorEnvelope(['invalid_access_token'], { '.tag': 'invalid_access_token' }))
    return null
  }
  if (state.tokens.isAccessTokenExpired(token)) {
    reply.json(401, errorEnvelope(['expired_access_token'], { '.tag': 'expired_access_token' }))
    return null
  }
  if (scope !== null && !token.scopes.has(scope)) {
    reply.json(401, missingScope(scope))
    return null
  }
  const account = state.accounts.get(token.accountId)
  if (account === undefined) {
    reply.json(401, errorEnvelope(['invalid_access_token'], { '.tag': 'invalid_access_token' }))
    return null
  }
  const root = resolvePathRoot(account, pathRoot, state.tree.namespaces)
  if (!root.ok) {
    reply.json(422, errorEnvelope(root.tags, root.error))
    return null
  }
  return { account, token, root: root.ns }
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

export function header(headers: Headers, name: string): string | undefined {
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
