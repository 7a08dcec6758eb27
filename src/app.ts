/**
 * Builds the Fastify application from a validated config and explicit dependencies.
 * Used by `server.ts` and by every test; it never listens and never reads the environment.
 */
import { randomUUID } from 'node:crypto'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  LogController,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify'
import type { Logger } from 'pino'
import type { Config } from './config.ts'
import docs from './http/plugins/docs.ts'
import observability from './http/plugins/observability.ts'
import { notFoundHandler, problemErrorHandler, sendProblem, toProblem } from './http/problem.ts'
import operations, { type ReadinessCheck } from './http/routes/operations.ts'
import { createLogger } from './observability/logger.ts'
import { createMetrics, type Metrics } from './observability/metrics.ts'

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>

export interface AppDeps {
  logger?: Logger
  metrics?: Metrics
  readinessChecks?: ReadinessCheck[]
}

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<App> {
  const logger = deps.logger ?? createLogger(config.logLevel)
  const metrics = deps.metrics ?? createMetrics()
  let draining = false

  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Identity comes from the signed header only; forwarded headers are never trusted (SPEC §3).
    trustProxy: false,
    requestIdHeader: false,
    genReqId: () => randomUUID(),
    bodyLimit: 64 * 1024,
    // Our own draining hook answers with problem+json instead of Fastify's plain 503.
    return503OnClosing: false,
    routerOptions: { maxParamLength: 200 },
  }).withTypeProvider<TypeBoxTypeProvider>()

  app.setErrorHandler(problemErrorHandler)
  app.setNotFoundHandler(notFoundHandler)
  app.addHook('preClose', async () => {
    draining = true
  })
  app.addHook('onRequest', async (request, reply) => {
    if (
      !draining ||
      request.routeOptions.url === '/readyz' ||
      request.routeOptions.url === '/healthz'
    )
      return
    reply.header('connection', 'close')
    return sendProblem(
      reply,
      toProblem('shutting_down', 'This instance is shutting down; retry the request.'),
      1,
    )
  })

  // Infrastructure.
  await app.register(observability, { metrics })
  await app.register(docs)

  // Routes.
  await app.register(operations, {
    metrics,
    readinessChecks: deps.readinessChecks ?? [],
    isDraining: () => draining,
  })

  return app
}
