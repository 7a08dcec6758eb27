/**
 * The process: reads the environment once, listens, and shuts down gracefully on SIGTERM
 * (readiness turns 503, in-flight requests finish, resources close, exit 0).
 */
import './tick-object-shape.ts'
import './module-resolution.ts'
import type { ServerResponse } from 'node:http'
import { buildApp } from './app.ts'
import { ConfigError, loadConfig } from './config.ts'
import { listen } from './http/listeners.ts'

const SHUTDOWN_GRACE_MS = 25_000

async function main() {
  let config: ReturnType<typeof loadConfig>
  try {
    config = loadConfig()
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`cloud-connector: ${error.message}\n`)
      process.exit(1)
    }
    throw error
  }

  const app = await buildApp(config)
  // Responses not yet sent when shutdown starts carry `Connection: close`: otherwise their
  // keep-alive sockets outlive the drain (Fastify's keepAliveTimeout is 72 s, the grace 25 s)
  // and the process would always end in the grace-period exit 1 under real traffic.
  const unsent = new Set<ServerResponse>()
  for (const server of [app.server, app.internalServer]) {
    server.on('request', (_request, response: ServerResponse) => {
      unsent.add(response)
      response.once('close', () => unsent.delete(response))
    })
  }
  let shuttingDown = false
  const shutdown = async (signal: string) => {
    if (shuttingDown) return
    shuttingDown = true
    app.log.info({ signal }, 'shutting down')
    const timer = setTimeout(() => {
      app.log.error('shutdown grace period passed; exiting')
      process.exit(1)
    }, SHUTDOWN_GRACE_MS)
    timer.unref()
    for (const response of unsent) {
      if (!response.headersSent) response.setHeader('connection', 'close')
    }
    await app.close()
    app.log.info('shut down cleanly')
    process.exit(0)
  }
  process.once('SIGTERM', () => void shutdown('SIGTERM'))
  process.once('SIGINT', () => void shutdown('SIGINT'))

  // Both listeners, or one when INTERNAL_PORT = PORT (contract §5).
  const listening = await listen(app, config)
  app.log.info(listening, 'listening')
}

main().catch((error: unknown) => {
  process.stderr.write(
    `cloud-connector: failed to start: ${error instanceof Error ? error.message : String(error)}\n`,
  )
  process.exit(1)
})
