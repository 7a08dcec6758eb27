/**
 * Builds the Fastify application from a validated config and explicit dependencies.
 * Used by `server.ts` and by every test; it never listens and never reads the environment.
 */
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
import type { Clock } from './clock.ts'
import { cloudConfigFrom } from './cloud/config.ts'
import { CursorEnvelope } from './cloud/cursor-envelope.ts'
import { createCloudClientFactory, createCloudProvider } from './cloud/factory.ts'
import { TokenRefresher } from './cloud/token-refresher.ts'
import type { RetryPolicy } from './cloud/upstream-policy.ts'
import type { Config } from './config.ts'
import { ConnectFlow } from './connect/connect-flow.ts'
import { drainPeriodically, type RevocationPolicy, Revoker } from './connect/revocation.ts'
import { createLazySchemaCompilers } from './http/lazy-schema-compilers.ts'
import { setUpListeners } from './http/listeners.ts'
import docs from './http/plugins/docs.ts'
import identity from './http/plugins/identity.ts'
import observability from './http/plugins/observability.ts'
import { notFoundHandler, problemErrorHandler, sendProblem, toProblem } from './http/problem.ts'
import { clientErrorHandler, routingErrorHandler } from './http/protocol-errors.ts'
import cloudRoutes from './http/routes/cloud.ts'
import connectBrowser from './http/routes/connect-browser.ts'
import connectSessions from './http/routes/connect-sessions.ts'
import connectionRoutes from './http/routes/connection.ts'
import operations from './http/routes/operations.ts'
import workspaceFiles from './http/routes/workspace-files.ts'
import { createCallers } from './identity/callers.ts'
import { createIdentityVerifier } from './identity/verifier.ts'
import { type Audit, createAudit } from './observability/audit.ts'
import { createLogger } from './observability/logger.ts'
import { createMetrics, type Metrics } from './observability/metrics.ts'
import type { ReadinessCheck } from './observability/readiness.ts'
import { createRequestIds } from './observability/request-ids.ts'
import { deriveCursorKeys } from './vault/cursor-keys.ts'
import { openVault } from './vault/open-vault.ts'
import type { Vault } from './vault/vault.ts'

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
  /** Tests move it instead of sleeping. */
  clock?: Clock
  /** Default: PostgreSQL when `DATABASE_URL` is set, else SQLite; the caller closes one it passes. */
  vault?: Vault
  retryPolicy?: RetryPolicy
  readinessChecks?: ReadinessCheck[]
  audit?: Audit
  /** Tests: a problem `code` a route's schema does not declare becomes a 500 (http/problem.ts). */
  strictProblemCodes?: boolean
  /** The revocation queue's retry policy and drain interval (contract §7); tests shorten them. */
  revocation?: Partial<RevocationPolicy> & { drainIntervalMs?: number }
}

const SESSION_PURGE_INTERVAL_MS = 60_000
const REVOCATION_DRAIN_INTERVAL_MS = 15_000

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<App> {
  const logger = deps.logger ?? createLogger(config.logLevel)
  const metrics = deps.metrics ?? createMetrics()
  const clock = deps.clock ?? Date.now
  const audit = deps.audit ?? createAudit(logger)
  let draining = false

  const vault =
    deps.vault ??
    (await openVault({
      databaseUrl: config.databaseUrl,
      databasePath: config.databasePath,
      keys: config.vaultKeys,
      clock,
    }))
  const verifier = await createIdentityVerifier({ ...config.identity, clock })
  const callers = createCallers(config.callers)
  if (!callers.configured) {
    logger.warn(
      'IDENTITY_CALLERS is not set: every key of IDENTITY_JWKS may call every operation (contract §2)',
    )
  }
  const provider = createCloudProvider(cloudConfigFrom(config), {
    metrics,
    clock,
    retryPolicy: deps.retryPolicy,
  })
  const refresher = new TokenRefresher({
    vault: vault.connections,
    auth: provider.auth,
    metrics,
    clock,
    leases: vault.refreshLeases,
    leaseMs: config.refreshLeaseMs,
    audit,
  })
  const clients = createCloudClientFactory({
    provider,
    vault: vault.connections,
    refresher,
    clock,
    cursors: new CursorEnvelope(deriveCursorKeys(config.vaultKeys)),
  })
  const revoker = new Revoker({
    auth: provider.auth,
    queue: vault.revocations,
    audit,
    metrics,
    clock,
    policy: deps.revocation,
  })
  const flow = new ConnectFlow({
    sessions: vault.sessions,
    connections: vault.connections,
    provider,
    publicBaseUrl: config.publicBaseUrl,
    returnUrl: config.connectReturnUrl,
    clock,
    revoker,
    audit,
  })

  const schemaCompilers = createLazySchemaCompilers()
  const app = Fastify({
    schemaController: { compilersFactory: schemaCompilers.compilersFactory },
    loggerInstance: logger as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // Identity comes from the signed header only; forwarded headers are never trusted (contract §3).
    trustProxy: false,
    requestIdHeader: false,
    genReqId: createRequestIds(),
    bodyLimit: 64 * 1024,
    // Our own draining hook answers with problem+json instead of Fastify's plain 503.
    return503OnClosing: false,
    routerOptions: { maxParamLength: 200 },
    frameworkErrors: routingErrorHandler,
    clientErrorHandler,
  }).withTypeProvider<TypeBoxTypeProvider>()

  if (deps.strictProblemCodes) app.decorate('strictProblemCodes', true)
  app.setErrorHandler(problemErrorHandler)
  app.setNotFoundHandler(notFoundHandler)
  const listeners = setUpListeners(app)
  app.addHook('onSend', (request, reply, payload, done) => {
    // Every /v1 answer, errors and 404s included, is private and typed (contract §9).
    if (request.url.startsWith('/v1')) {
      reply.header('cache-control', 'no-store')
      reply.header('x-content-type-options', 'nosniff')
    }
    // An answer sent once the drain has begun closes its connection: otherwise its keep-alive
    // socket outlives the drain (keepAliveTimeout 72 s, the grace 25 s) and the process would
    // end in the grace-period exit 1 under real traffic. Answers sent before that leave idle
    // sockets, which closing the server closes (draining is set in preClose, before that).
    if (draining) reply.header('connection', 'close')
    done(null, payload)
  })

  const purgeTimer = setInterval(() => {
    flow.purgeExpired().catch((error: unknown) => {
      app.log.warn({ err: error }, 'purging expired connect sessions failed')
    })
  }, SESSION_PURGE_INTERVAL_MS)
  purgeTimer.unref()
  const revocationDrain = drainPeriodically(
    revoker,
    deps.revocation?.drainIntervalMs ?? REVOCATION_DRAIN_INTERVAL_MS,
    (error) => app.log.warn({ err: error }, 'draining the revocation queue failed'),
  )

  app.addHook('preClose', async () => {
    draining = true
  })
  // Route schemas compile on first use; the rest right after listening (lazy-schema-compilers.ts).
  // The end of the warm-up is logged: until then, requests share the CPU with Ajv's code
  // generation, which a measurement (bench/instructions.ts) has to wait out.
  app.addHook('onListen', (done) => {
    const started = performance.now()
    schemaCompilers
      .warmUp(() => draining)
      .then(
        (compiled) => {
          if (compiled === 0) return
          const ms = Math.round(performance.now() - started)
          app.log.info({ schemas: compiled, ms }, 'route schemas compiled')
        },
        (error: unknown) => {
          app.log.error({ err: error }, 'a route schema does not compile')
        },
      )
    done()
  })
  // A callback hook: an async one costs every request a promise and a microtask turn.
  app.addHook('onRequest', (request, reply, done) => {
    if (
      !draining ||
      request.routeOptions.url === '/readyz' ||
      request.routeOptions.url === '/healthz'
    ) {
      done()
      return
    }
    // `Connection: close` comes from the onSend hook, as on every answer during the drain.
    sendProblem(
      reply,
      toProblem('shutting_down', 'This instance is shutting down; retry the request.'),
      1,
    )
  })
  app.addHook('onClose', async () => {
    await listeners.closed()
    clearInterval(purgeTimer)
    await revocationDrain.stop()
    await provider.close()
    if (!deps.vault) await vault.close()
  })

  // Infrastructure.
  await app.register(observability, { metrics })
  await app.register(docs)

  // Routes: probes and docs are public; the browser steps carry their own proofs; /v1 needs an assertion.
  await app.register(operations, {
    metrics,
    readinessChecks: withOverrides(vault.readinessChecks, deps.readinessChecks ?? []),
    isDraining: () => draining,
  })
  await app.register(connectBrowser, {
    flow,
    secureCookies: config.publicBaseUrl.startsWith('https:'),
  })
  await app.register(
    async (v1) => {
      await v1.register(identity, { verifier, callers, audit })
      await v1.register(connectSessions, { flow })
      await v1.register(connectionRoutes, { flow })
      await v1.register(cloudRoutes, { clients })
      await v1.register(workspaceFiles, { clients })
    },
    { prefix: '/v1' },
  )

  return app
}

/** Checks passed in replace the vault's checks of the same name instead of racing them. */
function withOverrides(base: ReadinessCheck[], extra: ReadinessCheck[]): ReadinessCheck[] {
  const names = new Set(extra.map((check) => check.name))
  return [...base.filter((check) => !names.has(check.name)), ...extra]
}
