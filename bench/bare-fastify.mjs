/**
 * The cold-start floor: a bare Fastify app on the same Node, answering `/readyz` with 200. Plain
 * JavaScript, so Node loads no TypeScript stripper for it; nothing else is loaded, so the
 * connector's start-up is measured against what Fastify and Node cost by themselves. Env: PORT.
 */
import Fastify from 'fastify'

const app = Fastify({ logger: false })
app.get('/readyz', async () => ({ status: 'ready' }))
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' })
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)))
