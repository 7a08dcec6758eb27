/**
 * A stand-in for the Django main app: the reference integration with cloud-connector.
 *
 * The main app owns the user's session; the connector owns everything Dropbox. The main app
 * only ever calls the connector server-to-server with a short-lived `X-Identity-Assertion`
 * (contract §2), and has three integration points (contract §3, §5):
 *   1. "Connect Dropbox": create a connect session, redirect the browser to its `connect_url`;
 *   2. the return page (`CONNECT_RETURN_URL`): call `complete` as the signed-in user, with the
 *      completion secret from the return URL;
 *   3. "Disconnect Dropbox": `DELETE /v1/connection`.
 * Everything else (`/v1/connection`, `/v1/me`, `/v1/workspace/list`, `/v1/workspace/download`)
 * is plain reading. Every call goes through the TypeScript client, `@cloud-connector/client`
 * (clients/typescript). A download streams from the connector to the browser chunk by chunk,
 * so a file of any size costs the main app no more memory than a small one.
 *
 * "Signing in" here is a cookie naming one of two demo users: a real app has real sessions.
 * State changes are POST forms; the session cookie is SameSite=Lax, and Django would add its
 * CSRF token on top.
 */

import { Readable } from 'node:stream'
import type { ReadableStream as NodeReadableStream } from 'node:stream/web'
import {
  type Account,
  CloudConnector,
  CloudConnectorError,
  ConnectorUnreachable,
  createIdentitySigner,
  type Listing,
  RangeNotSatisfiable,
} from '@cloud-connector/client'
import cookie from '@fastify/cookie'
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { JWK } from 'jose'
import { html, page, type SafeHtml } from './html.ts'

export const DEMO_USERS = [
  { id: 'demo-user-1', name: 'Ada Lovelace' },
  { id: 'demo-user-2', name: 'Grace Hopper' },
] as const
type DemoUser = (typeof DEMO_USERS)[number]

export interface MainAppOptions {
  /** Where this server reaches the connector's internal listener (`/v1`, server to server). */
  connectorUrl: string
  /** The main app's signing key and the issuer the connector expects (`IDENTITY_ISSUER`). */
  identity: { privateJwk: JWK; issuer: string; audience?: string }
}

const SESSION_COOKIE = 'demo_user'
/** The return page; the connector's `CONNECT_RETURN_URL` points here. */
export const RETURN_PATH = '/dropbox/return'

/** A connector call's result, or the connector's refusal (shown on the page). */
async function attempt<T>(call: Promise<T>): Promise<T | CloudConnectorError> {
  try {
    return await call
  } catch (error) {
    // No answer at all is the error handler's page; an answer is shown where it belongs.
    if (error instanceof CloudConnectorError && !(error instanceof ConnectorUnreachable)) {
      return error
    }
    throw error
  }
}

export async function buildMainApp(options: MainAppOptions): Promise<FastifyInstance> {
  // The connector client (clients/typescript): every call is signed as the user it is made for.
  const connector = new CloudConnector({
    baseUrl: options.connectorUrl,
    signer: await createIdentitySigner({
      privateJwk: options.identity.privateJwk,
      issuer: options.identity.issuer,
      audience: options.identity.audience,
    }),
    timeoutMs: 15_000,
  })
  const app = Fastify({ logger: false })
  await app.register(cookie)
  app.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (_request, body, done) => done(null, Object.fromEntries(new URLSearchParams(body as string))),
  )

  const currentUser = (request: FastifyRequest): DemoUser =>
    DEMO_USERS.find((user) => user.id === request.cookies[SESSION_COOKIE]) ?? DEMO_USERS[0]

  const show = (reply: FastifyReply, user: DemoUser, title: string, body: SafeHtml, code = 200) =>
    reply
      .code(code)
      .type('text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .send(page(title, header(user), body))

  app.setErrorHandler((error: Error, request, reply) => {
    request.log.error({ err: error }, 'main app failed')
    const detail =
      error instanceof ConnectorUnreachable
        ? 'The connector did not answer. Is it running?'
        : 'Something went wrong.'
    return show(reply, currentUser(request), 'Error', problem(detail), 502)
  })

  app.post<{ Body: { user?: string } }>('/switch-user', async (request, reply) => {
    const user = DEMO_USERS.find((candidate) => candidate.id === request.body?.user)
    if (user) {
      reply.setCookie(SESSION_COOKIE, user.id, { path: '/', httpOnly: true, sameSite: 'lax' })
    }
    return reply.redirect('/', 303)
  })

  // Integration point 1: create a connect session as the signed-in user, send the browser there.
  app.post('/dropbox/connect', async (request, reply) => {
    const user = currentUser(request)
    const created = await attempt(connector.forUser(user.id).startConnect())
    if (created instanceof CloudConnectorError) {
      return show(reply, user, 'Connect failed', problem(describe(created)), 502)
    }
    return reply.redirect(created.connect_url, 303)
  })

  // Integration point 2: Dropbox sent the browser back through the connector. Only `complete`,
  // called with the *signed-in* user's assertion and the completion secret from this URL,
  // attaches the Dropbox account.
  app.get<{
    Querystring: { session?: string; status?: string; error?: string; completion?: string }
  }>(RETURN_PATH, async (request, reply) => {
    const user = currentUser(request)
    const { session, status, error, completion } = request.query
    const outcome = (message: SafeHtml) =>
      show(reply, user, 'Dropbox', html`${message}<p><a href="/">Back to your account</a></p>`)
    if (status === 'denied') {
      return outcome(problem('You cancelled the Dropbox authorization, so nothing was connected.'))
    }
    if (status !== 'authorized' || !session) {
      return outcome(
        // The connector sends only `[a-z_]` codes; anything else in the URL is not shown.
        problem(
          `Dropbox reported an error (${/^[a-z_]{1,64}$/.test(error ?? '') ? error : 'unknown'}). Nothing was connected.`,
        ),
      )
    }
    reply.header('referrer-policy', 'no-referrer') // this URL carries the completion secret
    const completed = await attempt(connector.forUser(user.id).complete(session, completion))
    if (!(completed instanceof CloudConnectorError)) {
      return reply.redirect('/?notice=connected', 303)
    }
    const messages: Record<string, string> = {
      session_user_mismatch: `This Dropbox connection was started by another user, not by ${user.name} who is signed in now. For your safety nothing was connected and the link was cancelled.`,
      session_expired: 'The connection attempt took too long and expired. Please try again.',
      session_not_authorized:
        'This connection attempt was already used or not authorized. Please try again.',
      session_not_found: 'This connection attempt is unknown. Please try again.',
      session_already_completed: 'This connection attempt was already used. Please try again.',
      completion_mismatch:
        'This Dropbox connection could not be confirmed for this browser. For your safety nothing was connected. Please start again.',
    }
    return outcome(problem(messages[completed.code ?? ''] ?? describe(completed)))
  })

  // Integration point 3: disconnect (the connector revokes the token at Dropbox and forgets it).
  app.post('/dropbox/disconnect', async (request, reply) => {
    const user = currentUser(request)
    const removed = await attempt(connector.forUser(user.id).disconnect())
    if (removed instanceof CloudConnectorError) {
      return show(reply, user, 'Disconnect failed', problem(describe(removed)), 502)
    }
    return reply.redirect('/?notice=disconnected', 303)
  })

  // A file link in the listing: the connector's bytes, streamed through as they arrive (never
  // buffered) with its Content-Type, Content-Length and Content-Disposition passed on. A
  // browser's `Range` (a resumed download, a seek in a video) goes through as well.
  app.get<{ Querystring: { path?: string } }>('/dropbox/download', async (request, reply) => {
    const user = currentUser(request)
    // Only byte ranges: any other unit is ignored, as RFC 9110 lets a server do.
    const range = request.headers.range?.startsWith('bytes=') ? request.headers.range : undefined
    const download = await attempt(
      connector.forUser(user.id).download(request.query.path ?? '', { range }),
    )
    if (download instanceof RangeNotSatisfiable) {
      if (download.size !== undefined) reply.header('content-range', `bytes */${download.size}`)
      return show(reply, user, 'Download failed', problem(describe(download)), 416)
    }
    if (download instanceof CloudConnectorError) {
      // 404 not_found and 409 not_a_file are the user's answer; anything else is the gateway's.
      const code = download.status === 404 || download.status === 409 ? download.status : 502
      return show(reply, user, 'Download failed', problem(describe(download)), code)
    }
    const headers: Record<string, string | number | undefined> = {
      'content-type': download.contentType ?? 'application/octet-stream',
      'content-length': download.contentLength,
      'content-range': download.contentRange,
      'content-disposition': download.contentDisposition ?? 'attachment',
      'accept-ranges': 'bytes',
      'x-content-type-options': 'nosniff',
      'cache-control': 'no-store',
    }
    for (const [name, value] of Object.entries(headers)) {
      if (value !== undefined) reply.header(name, value)
    }
    // A Node stream: Fastify pipes it with backpressure and destroys it when the browser goes
    // away, which cancels the connector's response (and the connector's request to Dropbox).
    return reply
      .code(download.status)
      .send(Readable.fromWeb(download.body as NodeReadableStream<Uint8Array>))
  })

  app.get<{ Querystring: { notice?: string; path?: string; cursor?: string } }>(
    '/',
    async (request, reply) => {
      const user = currentUser(request)
      const { notice, path = '', cursor } = request.query
      const client = connector.forUser(user.id)
      const connection = await attempt(client.connection())
      const notices: Record<string, string> = {
        connected: 'Your Dropbox is connected.',
        disconnected: 'Your Dropbox is disconnected.',
      }
      const banner = notice && notices[notice] ? html`<p class="notice">${notices[notice]}</p>` : ''
      let body: SafeHtml
      if (connection instanceof CloudConnectorError) {
        body = problem(describe(connection))
      } else if (connection.status === 'connected') {
        const [me, listing] = await Promise.all([
          attempt(client.me()),
          attempt(
            cursor ? client.listFolderContinue(cursor) : client.listFolder(path, { limit: 100 }),
          ),
        ])
        body = html`${accountSection(me)}<p>${disconnectButton()}</p>${filesSection(path, listing)}`
      } else if (connection.status === 'reconnect_required') {
        body = html`<p id="connection-status">Dropbox needs to be connected again (access was revoked or expired).</p>
${connectButton('Reconnect Dropbox')} ${disconnectButton()}`
      } else {
        body = html`<p id="connection-status">Dropbox is not connected.</p>${connectButton('Connect Dropbox')}`
      }
      return show(reply, user, 'Your Dropbox', html`${banner}<h1>Your Dropbox</h1>${body}`)
    },
  )

  return app
}

function header(user: DemoUser): SafeHtml {
  const others = DEMO_USERS.filter((other) => other.id !== user.id)
  return html`<header><span>Demo main app: signed in as <strong id="signed-in-as">${user.name}</strong> (${user.id})</span>
${others.map(
  (other) =>
    html`<form method="post" action="/switch-user"><input type="hidden" name="user" value="${other.id}"><button type="submit">Switch to ${other.name}</button></form>`,
)}</header>`
}

function connectButton(label: string): SafeHtml {
  return html`<form method="post" action="/dropbox/connect"><button class="primary" type="submit">${label}</button></form>`
}

function disconnectButton(): SafeHtml {
  return html`<form method="post" action="/dropbox/disconnect"><button type="submit">Disconnect Dropbox</button></form>`
}

function problem(message: string): SafeHtml {
  return html`<p class="problem" role="alert">${message}</p>`
}

/** A connector answer we did not expect, for the person reading the page. */
function describe(error: CloudConnectorError): string {
  return `The connector answered ${error.status ?? ''} ${error.code ?? ''}: ${error.detail}`
}

function accountSection(account: Account | CloudConnectorError): SafeHtml {
  if (account instanceof CloudConnectorError) return problem(describe(account))
  return html`<p id="connection-status">Connected to Dropbox as <strong id="account-name">${account.display_name}</strong> (<span id="account-email">${account.email}</span>).</p>
<dl>
<dt>Account id</dt><dd>${account.account_id}</dd>
<dt>Country</dt><dd>${account.country ?? '—'}</dd>
<dt>Team</dt><dd>${account.team ? account.team.name : 'none (personal account)'}</dd>
<dt>Root</dt><dd>${account.root.type}</dd>
</dl>
<details><summary>GET /v1/me</summary><pre>${JSON.stringify(account, null, 2)}</pre></details>`
}

function filesSection(path: string, listing: Listing | CloudConnectorError): SafeHtml {
  const segments = path.split('/').filter(Boolean)
  const crumbs = [
    html`<a href="/?path=">Workspace</a>`,
    ...segments.map(
      (name, i) =>
        html` / <a href="/?path=${encodeURIComponent(segments.slice(0, i + 1).join('/'))}">${name}</a>`,
    ),
  ]
  const heading = html`<h2>Files</h2><nav id="breadcrumbs">${crumbs}</nav>`
  if (listing instanceof CloudConnectorError) return html`${heading}${problem(describe(listing))}`
  const { entries, cursor, has_more } = listing
  const sorted = [...entries].sort(
    (a, b) =>
      (a.type === b.type ? 0 : a.type === 'folder' ? -1 : 1) || a.name.localeCompare(b.name),
  )
  const rows = sorted.map((entry) =>
    entry.type === 'folder'
      ? html`<tr><td><a href="/?path=${encodeURIComponent(entry.path)}">${entry.name}</a></td><td>folder</td><td></td></tr>`
      : html`<tr><td><a href="/dropbox/download?path=${encodeURIComponent(entry.path)}">${entry.name}</a></td><td>file</td><td>${formatSize(entry.size ?? 0)}</td></tr>`,
  )
  const more = has_more
    ? html`<p><a href="/?path=${encodeURIComponent(path)}&cursor=${encodeURIComponent(cursor)}">Next page</a></p>`
    : ''
  const table =
    rows.length === 0
      ? html`<p>This folder is empty.</p>`
      : html`<table id="files"><thead><tr><th>Name</th><th>Kind</th><th>Size</th></tr></thead><tbody>${rows}</tbody></table>`
  return html`${heading}${table}${more}`
}

function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
