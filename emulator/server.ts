/**
 * The HTTP front: reads the request, logs `/2/*` calls, applies a queued fault, then routes.
 * Plain `node:http` rather than Fastify: the emulator must control every byte of the wire
 * (plain-text 400s, empty JSON bodies, resets) and stay cheap at benchmark rates.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { type ControlTarget, handleControl } from './control-api.ts'
import { BodyTooLargeError, errorEnvelope, Reply, readBody } from './http-io.ts'
import { handleAuthorizeGet, handleConsentPost } from './oauth-authorize.ts'
import { handleToken } from './oauth-token.ts'
import { pathOf, queryOf } from './params.ts'
import { downloadMethodNotAllowed, getMetadata, handleDownload } from './route-files.ts'
import { listFolder, listFolderContinue } from './route-list-folder.ts'
import { tokenRevoke } from './route-revoke.ts'
import { getCurrentAccount } from './route-users.ts'
import { handleRpc, type RpcRoute } from './rpc.ts'
import type { EmulatorState } from './state.ts'
import type { CallRecord, Fault } from './types.ts'

const RPC_ROUTES = new Map<string, RpcRoute>(
  [getCurrentAccount, listFolder, listFolderContinue, getMetadata, tokenRevoke].map((route) => [
    `/2/${route.fn}`,
    route,
  ]),
)
const CONTROL_PREFIX = '/__emulator/'

export interface ServerHooks {
  /** `api` (api.dropboxapi.com, OAuth, control) or `content` (content.dropboxapi.com). */
  readonly host: 'api' | 'content'
  readonly state: EmulatorState
  readonly control: ControlTarget
  /** Answers held by `hang` and `delay`, released on close. */
  readonly held: Set<ServerResponse>
  readonly timers: Set<NodeJS.Timeout>
}

export function requestHandler(hooks: ServerHooks) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    handle(hooks, req, res).catch((error: unknown) => {
      process.stderr.write(`dropbox emulator: ${(error as Error)?.stack ?? String(error)}\n`)
      if (!res.headersSent && !res.destroyed)
        new Reply(res, null).text(500, 'Internal emulator error')
    })
  }
}

async function handle(
  hooks: ServerHooks,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const url = req.url ?? '/'
  const path = pathOf(url)
  let body: Buffer
  try {
    body = await readBody(req)
  } catch (error) {
    if (error instanceof BodyTooLargeError) new Reply(res, null).text(413, 'Request body too large')
    return
  }
  if (hooks.host === 'api' && path.startsWith(CONTROL_PREFIX)) {
    await handleControl(
      hooks.control,
      req.method ?? 'GET',
      path.slice(CONTROL_PREFIX.length),
      body,
      new Reply(res, null),
    )
    return
  }
  let record: CallRecord | null = null
  if (path.startsWith('/2/')) {
    record = {
      route: path,
      headers: req.headers as Record<string, string>,
      body: bodyForLog(body),
      status: 0,
    }
    hooks.state.counters.recordCall(record)
  }
  const reply = new Reply(res, record)
  const fault = hooks.state.faults.take(path)
  if (fault !== undefined && (await applyFault(hooks, fault, path, res, reply))) return
  if (hooks.host === 'content') contentRoute(hooks.state, req, path, queryOf(url), reply)
  else route(hooks.state, req, path, queryOf(url), body, reply)
}

/** The content host serves the content routes only. */
function contentRoute(
  state: EmulatorState,
  req: IncomingMessage,
  path: string,
  query: string,
  reply: Reply,
): void {
  if (path === '/2/files/download') {
    const method = req.method ?? 'GET'
    if (method === 'POST' || method === 'GET') handleDownload(state, req, query, reply)
    else downloadMethodNotAllowed(reply)
    return
  }
  if (path.startsWith('/2/')) {
    reply.text(404, `Unknown API function: ${JSON.stringify(path.slice(3))}`)
    return
  }
  reply.text(404, 'Not found')
}

function route(
  state: EmulatorState,
  req: IncomingMessage,
  path: string,
  query: string,
  body: Buffer,
  reply: Reply,
): void {
  const method = req.method ?? 'GET'
  if (path === '/oauth2/authorize') {
    if (method === 'GET') handleAuthorizeGet(state, query, String(req.headers.cookie ?? ''), reply)
    else if (method === 'POST')
      handleConsentPost(
        state,
        String(req.headers['content-type'] ?? ''),
        body.toString('utf8'),
        reply,
      )
    else reply.text(405, 'Method not allowed', { allow: 'GET, POST' })
    return
  }
  if (path === '/oauth2/token') {
    if (method === 'POST') handleToken(state, req.headers, query, body, reply)
    else
      reply.json(
        405,
        { error: 'invalid_request', error_description: 'use POST' },
        { allow: 'POST' },
      )
    return
  }
  const rpc = RPC_ROUTES.get(path)
  if (rpc !== undefined) {
    if (method === 'POST') handleRpc(state, rpc, req.headers, query, body, reply)
    else
      reply.text(405, `Error in call to API function "${rpc.fn}": Expecting HTTP method POST.`, {
        allow: 'POST',
      })
    return
  }
  if (path.startsWith('/2/')) {
    reply.text(404, `Unknown API function: ${JSON.stringify(path.slice(3))}`)
    return
  }
  reply.text(404, 'Not found')
}

/** True when the fault answered (or withheld) the call; false to go on normally. */
async function applyFault(
  hooks: ServerHooks,
  fault: Fault,
  path: string,
  res: ServerResponse,
  reply: Reply,
): Promise<boolean> {
  switch (fault.kind) {
    case 'rate_limit': {
      const headers = { 'retry-after': String(fault.retryAfter) }
      if (fault.body === 'text') {
        reply.text(429, 'Too Many Requests', headers)
        return true
      }
      const reason = fault.reason ?? 'too_many_requests'
      reply.json(
        429,
        errorEnvelope([reason], { reason: { '.tag': reason }, retry_after: fault.retryAfter }),
        headers,
      )
      return true
    }
    case 'status':
      if (path === '/oauth2/token') {
        reply.json(fault.status, {
          error:
            'The server has either erred or is incapable of performing the requested operation.',
        })
      } else {
        reply.text(fault.status, STATUS_TEXT[fault.status])
      }
      return true
    case 'delay':
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          hooks.timers.delete(timer)
          resolve()
        }, fault.ms)
        hooks.timers.add(timer)
      })
      return res.destroyed
    case 'hang':
      hooks.held.add(res)
      res.once('close', () => hooks.held.delete(res))
      return true
    case 'malformed_json':
      reply.truncate = true
      return false
    case 'reset_mid_body':
      reply.resetAfterBytes = fault.afterBytes
      return false
    case 'expired_access_token':
      reply.json(401, errorEnvelope([fault.kind], { '.tag': fault.kind }))
      return true
    case 'reset':
      // RST rather than FIN, so the client sees ECONNRESET as on a real reset.
      res.socket?.resetAndDestroy()
      return true
  }
}

const STATUS_TEXT = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
} as const

function bodyForLog(body: Buffer): unknown {
  if (body.length === 0) return null
  const text = body.toString('utf8')
  try {
    return JSON.parse(text)
  } catch {
    return text
  }
}
