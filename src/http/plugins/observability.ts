import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { routeOf } from '../../observability/logger.ts'
import type { Metrics } from '../../observability/metrics.ts'

/**
 * One log line and one histogram sample per request, both keyed by the route pattern.
 * Fastify's own request logging is off: it logs `req.url`, query string included.
 */
const observability: FastifyPluginAsync<{ metrics: Metrics }> = async (app, { metrics }) => {
  // A callback hook, not an async one: no promise per request for work that never waits.
  app.addHook('onResponse', (request, reply, done) => {
    try {
      const route = routeOf(request)
      const ms = reply.elapsedTime
      // Set only behind the identity plugin, after the assertion verified (contract §2).
      const caller = request.identity?.caller
      metrics.observeRequest(request.method, route, reply.statusCode, ms / 1000, caller)
      request.log.info(
        {
          method: request.method,
          route,
          status: reply.statusCode,
          ms: Math.round(ms * 10) / 10,
          caller,
        },
        'request completed',
      )
    } finally {
      done()
    }
  })
}

export default fp(observability, { name: 'observability' })
