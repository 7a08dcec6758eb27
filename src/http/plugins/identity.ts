/**
 * Puts the verified `X-Identity-Assertion` user on `request.identity` for the routes of the
 * scope it is registered in (the `/v1` scope). Nothing else ever sets it: no query, body or
 * other header can name a user (contract §2).
 *
 * Wrapped with fastify-plugin on purpose: a plain plugin would open a child scope and its hook
 * would guard only routes registered inside it, so `v1.register(identity)` followed by
 * `v1.register(routes)` would leave the routes open. Wrapped, the hook belongs to the scope
 * that registers it and to nothing above it, so `/healthz` and the browser pages stay public.
 */
import type { FastifyPluginAsync, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { identityFailure } from '../../identity/failures.ts'
import { type IdentityVerifier, MAX_ASSERTION_BYTES } from '../../identity/verifier.ts'

export interface RequestIdentity {
  userId: string
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Set only by the identity plugin from a verified assertion; null elsewhere. */
    identity: RequestIdentity | null
  }
}

export interface IdentityPluginOptions {
  verifier: IdentityVerifier
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
    if (rawHeaders[i]?.toLowerCase() === HEADER) count++
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

const identity: FastifyPluginAsync<IdentityPluginOptions> = async (app, options) => {
  if (!options?.verifier) throw new TypeError('identity plugin: the "verifier" option is required')
  const { verifier } = options
  if (!app.hasRequestDecorator('identity')) app.decorateRequest('identity', null)
  app.addHook('onRequest', async (request) => {
    try {
      const { userId } = await verifier.verify(readAssertion(request))
      request.identity = { userId }
    } catch (error) {
      request.log.info({ reason: (error as Error).message }, 'identity assertion rejected')
      throw error
    }
  })
}

export default fp(identity, { name: 'identity', fastify: '5.x' })
