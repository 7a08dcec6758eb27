import type { FastifyPluginAsync } from 'fastify'
import fp from 'fastify-plugin'
import { routeOf } from '../../observability/logger.ts'
import type { Metrics } from '../../observability/metrics.ts'

/**
 * One log line and one histogram sample per request, both keyed by the route pattern.
 * Fastify's own request logging is off: it logs `req.url`, query string included.
 */
const observability: FastifyPluginAsync<{ metrics: Metrics }> = async (app, { metrics }) => {
  app.addHook('onResponse', async (request, reply) => {
    const route = routeOf(request)
    const seconds = reply.elapsedTime / 1000
    metrics.observeRequest(request.method, route, reply.statusCode, seconds)
    request.log.info(
      {
        method: request.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime * 10) / 10,
      },
      'request completed',
    )
  })
}

export default fp(observability, { name: 'observability' })
