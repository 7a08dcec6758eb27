/**
 * The process: reads the environment once, listens, and shuts down gracefully on SIGTERM
 * (readiness turns 503, in-flight requests finish, resources close, exit 0).
 */
import './tick-object-shape.ts'
import './module-resolution.ts'
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

  // Answers sent during the drain close their connections (the onSend hook in app.ts).
  const app = await buildApp(config)
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
