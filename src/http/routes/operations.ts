import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import type { Metrics } from '../../observability/metrics.ts'
import type { ReadinessCheck } from '../../observability/readiness.ts'

export interface OperationsOptions {
  metrics: Metrics
  readinessChecks: ReadinessCheck[]
  isDraining: () => boolean
}

const ReadinessSchema = Type.Object({
  status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
  checks: Type.Record(Type.String(), Type.String(), {
    description: 'Each check: "ok" or why it failed.',
  }),
})

const operations: FastifyPluginAsyncTypebox<OperationsOptions> = async (app, options) => {
  app.get(
    '/healthz',
    {
      schema: {
        tags: ['operations'],
        summary: 'Liveness: the process answers. Touches nothing external.',
        response: { 200: Type.Object({ status: Type.Literal('ok') }) },
      },
    },
    async () => ({ status: 'ok' as const }),
  )

  app.get(
    '/readyz',
    {
      schema: {
        tags: ['operations'],
        summary:
          'Readiness: database, migrations and vault keys work, and the process is not shutting down.',
        response: { 200: ReadinessSchema, 503: ReadinessSchema },
      },
    },
    async (_request, reply) => {
      const checks: Record<string, string> = {}
      if (options.isDraining()) checks.lifecycle = 'shutting down'
      await Promise.all(
        options.readinessChecks.map(async ({ name, check }) => {
          try {
            await check()
            checks[name] = 'ok'
          } catch (error) {
            checks[name] = error instanceof Error ? error.message : 'failed'
          }
        }),
      )
      const ready = Object.values(checks).every((value) => value === 'ok')
      reply.header('cache-control', 'no-store')
      return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'unavailable', checks })
    },
  )

  app.get(
    '/metrics',
    {
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics.',
        produces: ['text/plain'],
        response: { 200: Type.String({ description: 'Prometheus text exposition format.' }) },
      },
    },
    async (_request, reply) => {
      reply.type(options.metrics.registry.contentType)
      return options.metrics.registry.metrics()
    },
  )
}

export default operations
