/**
 * The two listeners (contract §5): the public one (`HOST`:`PORT`) serves what browsers and the
 * platform need, the internal one (`INTERNAL_HOST`:`INTERNAL_PORT`) serves `/v1`, metrics and
 * docs. One Fastify instance serves both, so draining, readiness and shutdown are shared;
 * each accepted socket is tagged with its listener and a route that does not belong to it
 * answers the ordinary 404, as if it did not exist. `INTERNAL_PORT` = `PORT`: one listener,
 * no tags, everything served.
 */
import type { Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'

// Not `import { createServer } from 'node:http'`: building that ESM view of the module reads
// every export, and its lazy WebSocket/EventSource getters load Node's internal undici — ~50 ms
// of every cold start for nothing (docs/performance.md).
const { createServer } = process.getBuiltinModule('node:http')

export type Listener = 'public' | 'internal'

const LISTENER = Symbol('cloud-connector.listener')
type TaggedSocket = Socket & { [LISTENER]?: Listener }

/** Browser steps only on the public listener; probes on both; everything else internal. */
const PUBLIC_ONLY = new Set(['/connect', '/connect/callback'])
const BOTH = new Set(['/healthz', '/readyz'])

export function listenerOf(route: string): Listener | 'both' {
  if (BOTH.has(route)) return 'both'
  return PUBLIC_ONLY.has(route) ? 'public' : 'internal'
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The internal listener's server; not listening when both share one port. */
    internalServer: Server
  }
}

function tag(server: Server, listener: Listener): void {
  server.on('connection', (socket: TaggedSocket) => {
    socket[LISTENER] = listener
  })
}

/** A route on the wrong listener answers the app's 404 (untagged sockets, e.g. inject: any). */
function guard(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
  const on = (request.raw.socket as TaggedSocket)[LISTENER]
  // `routeOptions` builds a new object on every read: only a tagged socket needs it.
  if (on === undefined) {
    done()
    return
  }
  const route = request.routeOptions.url
  const belongs = route === undefined ? on : listenerOf(route)
  if (belongs === on || belongs === 'both') done()
  else reply.callNotFound()
}

/**
 * Called by `buildApp` before `ready`: creates the internal server (same request handler, same
 * client-error handling and timeouts). It stops accepting when the app starts closing, like the
 * public one; `closed()` resolves once its last request finished, and the app awaits it before
 * closing its resources.
 */
export function setUpListeners(app: FastifyInstance): { closed(): Promise<void> } {
  const internal = createServer(app.routing)
  for (const listener of app.server.listeners('clientError')) {
    internal.on('clientError', listener as (...args: unknown[]) => void)
  }
  app.decorate('internalServer', internal)
  app.addHook('onRequest', guard)
  let closed: Promise<void> = Promise.resolve()
  app.addHook('preClose', (done) => {
    if (internal.listening) {
      closed = new Promise<void>((resolve) => internal.close(() => resolve()))
      internal.closeIdleConnections()
    }
    done()
  })
  return { closed: () => closed }
}

export interface ListenOptions {
  port: number
  host: string
  internalPort: number
  internalHost: string
}

export interface Listening {
  /** `http://host:port` of each listener; the same URL twice when they share one port. */
  publicUrl: string
  internalUrl: string
}

function urlOf(server: Server): string {
  const { address, family, port } = server.address() as AddressInfo
  return `http://${family === 'IPv6' ? `[${address}]` : address}:${port}`
}

export async function listen(app: FastifyInstance, options: ListenOptions): Promise<Listening> {
  if (options.internalPort === options.port) {
    await app.listen({ port: options.port, host: options.host })
    return { publicUrl: urlOf(app.server), internalUrl: urlOf(app.server) }
  }
  const internal = app.internalServer
  internal.keepAliveTimeout = app.server.keepAliveTimeout
  internal.requestTimeout = app.server.requestTimeout
  internal.headersTimeout = app.server.headersTimeout
  tag(app.server, 'public')
  tag(internal, 'internal')
  await app.listen({ port: options.port, host: options.host })
  await new Promise<void>((resolve, reject) => {
    internal.once('error', reject)
    internal.listen(options.internalPort, options.internalHost, () => {
      internal.off('error', reject)
      resolve()
    })
  })
  return { publicUrl: urlOf(app.server), internalUrl: urlOf(internal) }
}
