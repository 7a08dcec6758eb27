/**
 * Puts the verified `X-Identity-Assertion` user on `request.identity` for the routes of the
 * scope it is registered in (the `/v1` scope). Nothing else ever sets it: no query, body or
 * other header can name a user (contract §2).
 *
 * Wrapped with fastify-plugin on purpose: a plain plugin would open a child scope and its hook
 * would guard only routes registered inside it, so `v1.register(identity)` followed by
 * `v1.register(routes)` would leave the routes open. Wrapped, the hook belongs to the scope
 * that registers it and to nothing above it, so `/healthz` and the browser pages stay public.
 *
 * Every route of the scope declares the operation it performs (`config: { operation }`); a
 * route without one stops the boot, so no route can be reachable without a permission check.
 * The check runs in `onRequest`, before any body parsing, database or upstream work.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { decodeProtectedHeader } from 'jose'
import type { Logger } from 'pino'
import { ServiceError } from '../../errors.ts'
import {
  allows,
  type Callers,
  createCallers,
  isOperation,
  type Operation,
} from '../../identity/callers.ts'
import { identityFailure } from '../../identity/failures.ts'
import {
  type IdentityVerifier,
  MAX_ASSERTION_BYTES,
  type VerifiedIdentity,
} from '../../identity/verifier.ts'
import { type Audit, createAudit } from '../../observability/audit.ts'

export interface RequestIdentity {
  userId: string
  /** The calling service, named by `IDENTITY_CALLERS` (`any` when it is unset). */
  caller: string
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set only by the identity plugin from a verified assertion; null elsewhere. */
    identity: RequestIdentity | null
  }
  interface FastifyContextConfig {
    /** What a `/v1` route does, for the caller's permissions (contract §2). */
    operation?: Operation
  }
}

export interface IdentityPluginOptions {
  verifier: IdentityVerifier
  /** Default: `IDENTITY_CALLERS` unset, every key may call everything. */
  callers?: Callers
  /** Default: audit lines on the app's logger. */
  audit?: Audit
}

const HEADER = 'x-identity-assertion'

/** For handlers: the verified user, or a 401 if the route is not behind the plugin. */
export function requireIdentity(request: FastifyRequest): RequestIdentity {
  if (!request.identity) throw identityFailure('missing X-Identity-Assertion header')
  return request.identity
}

function occurrences(rawHeaders: string[]): number {
  let count = 0
  for (let i = 0; i < rawHeaders.length; i += 2) {
    const name = rawHeaders[i] as string
    // The length first: lower-casing every header name of every request is what this costs.
    if (name.length === HEADER.length && name.toLowerCase() === HEADER) count++
  }
  return count
}

function readAssertion(request: FastifyRequest): string {
  const value = request.headers[HEADER]
  if (value === undefined || value === '') {
    throw identityFailure('missing X-Identity-Assertion header')
  }
  // Node joins repeated headers with ", " (or gives an array); either way the caller sent two
  // assertions, and picking one would let a proxy and this service disagree on the user.
  if (typeof value !== 'string' || value.includes(',') || occurrences(request.raw.rawHeaders) > 1) {
    throw identityFailure('X-Identity-Assertion must appear exactly once')
  }
  if (value.length > MAX_ASSERTION_BYTES) {
    throw identityFailure(`X-Identity-Assertion is larger than ${MAX_ASSERTION_BYTES} bytes`)
  }
  return value
}

const SAFE_KID = /^[A-Za-z0-9._:-]{1,64}$/

/** The `kid` a rejected token claims, for the audit line; only when it is a plain short name. */
function claimedKid(request: FastifyRequest): string | undefined {
  const value = request.headers[HEADER]
  if (typeof value !== 'string' || value.length > MAX_ASSERTION_BYTES) return undefined
  try {
    const kid = decodeProtectedHeader(value).kid
    return typeof kid === 'string' && SAFE_KID.test(kid) ? kid : undefined
  } catch {
    return undefined
  }
}

const identity: FastifyPluginAsync<IdentityPluginOptions> = async (app, options) => {
  if (!options?.verifier) throw new TypeError('identity plugin: the "verifier" option is required')
  const { verifier } = options
  const callers = options.callers ?? createCallers(undefined)
  const audit = options.audit ?? createAudit(app.log as Logger)
  if (!app.hasRequestDecorator('identity')) app.decorateRequest('identity', null)
  app.addHook('onRoute', (route) => {
    if (!isOperation(route.config?.operation)) {
      throw new TypeError(
        `identity plugin: route ${route.method} ${route.url} declares no valid config.operation`,
      )
    }
  })
  /** The audit line of a refused assertion; gives the error back for `done`. */
  const rejected = (request: FastifyRequest, error: unknown): Error => {
    audit('identity_rejected', {
      reason: (error as Error).message,
      kid: claimedKid(request),
      peer: request.socket.remoteAddress,
    })
    return error as Error
  }
  /** Caller and permission of a verified assertion: the refusal, or undefined once admitted. */
  const admit = (request: FastifyRequest, verified: VerifiedIdentity): Error | undefined => {
    const caller = callers.callerFor(verified.kid)
    if (caller === undefined) {
      const failure = identityFailure('the signing key belongs to no configured caller')
      audit('identity_rejected', {
        reason: failure.message,
        kid: verified.kid,
        user: verified.userId,
        peer: request.socket.remoteAddress,
      })
      return failure
    }
    const operation = request.routeOptions.config.operation as Operation
    if (!allows(caller, operation)) {
      audit('operation_not_allowed', { user: verified.userId, caller: caller.name, operation })
      return new ServiceError(
        'operation_not_allowed',
        `the caller "${caller.name}" may not call the operation "${operation}"`,
      )
    }
    request.identity = { userId: verified.userId, caller: caller.name }
    return undefined
  }
  // A callback hook: an assertion seen before is answered from the verifier's cache without a
  // promise or a microtask turn; only a new one waits for its signature check.
  app.addHook('onRequest', (request, _reply, done) => {
    let token: string
    let cached: VerifiedIdentity | undefined
    try {
      token = readAssertion(request)
      cached = verifier.verifyCached(token)
    } catch (error) {
      done(rejected(request, error))
      return
    }
    if (cached !== undefined) {
      done(admit(request, cached))
      return
    }
    // Whatever `admit` or the audit line throws reaches `done` too, as from an async hook.
    verifier
      .verify(token)
      .then(
        (verified) => admit(request, verified),
        (error: unknown) => rejected(request, error),
      )
      .then(done, done)
  })
}

export default fp(identity, { name: 'identity', fastify: '5.x' })
