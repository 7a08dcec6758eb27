/**
 * The two browser endpoints of the connect flow. They answer with redirects or minimal HTML
 * pages (never problem+json: a person reads them), all with no-referrer and no-store.
 */
import cookie from '@fastify/cookie'
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { type ConnectFlow, ConnectPageError, SESSION_TTL_MS } from '../../connect/connect-flow.ts'
import { sendPage, setBrowserSecurityHeaders } from '../pages.ts'
import { CallbackQuerySchema, ConnectQuerySchema } from '../schemas/connect.ts'

export const FLOW_COOKIE = 'cc_flow'

const HtmlPage = {
  description: 'A minimal HTML page explaining the problem (no-referrer, no-store).',
  content: { 'text/html': { schema: Type.String() } },
}

const connectBrowser: FastifyPluginAsyncTypebox<{
  flow: ConnectFlow
  secureCookies: boolean
}> = async (app, { flow, secureCookies }) => {
  await app.register(cookie)
  // Set and cleared with the same attributes, so the clearing cookie replaces the set one.
  const flowCookieOptions = {
    httpOnly: true,
    // Lax, not Strict: the cookie must come back on the top-level redirect from dropbox.com.
    sameSite: 'lax',
    secure: secureCookies,
    path: '/connect',
  } as const
  app.setErrorHandler((error, request, reply) => {
    if (error instanceof ConnectPageError) return sendPage(reply, 400, error.title, error.message)
    if ((error as { validation?: unknown }).validation) {
      return sendPage(
        reply,
        400,
        'This link is not valid',
        'The address is incomplete or malformed.',
      )
    }
    request.log.error({ err: error }, 'connect page failed')
    return sendPage(
      reply,
      500,
      'Something went wrong',
      'Please go back to the application and try again.',
    )
  })

  app.get(
    '/connect',
    {
      // Fastify's automatic HEAD would run this handler and burn the link (see below).
      exposeHeadRoute: false,
      schema: {
        tags: ['connect'],
        summary: "Browser: consumes the connect token and redirects to Dropbox's consent page.",
        querystring: ConnectQuerySchema,
        response: {
          302: Type.Null({ description: 'Redirect to Dropbox (Location).' }),
          400: HtmlPage,
        },
      },
    },
    async (request, reply) => {
      const { authorizeUrl, flowCookie } = await flow.start(request.query.token)
      reply.setCookie(FLOW_COOKIE, flowCookie, {
        ...flowCookieOptions,
        maxAge: SESSION_TTL_MS / 1000,
      })
      return setBrowserSecurityHeaders(reply).redirect(authorizeUrl, 302)
    },
  )

  // Link scanners and chat previews send HEAD: it must neither consume the token nor set a
  // cookie (contract §3.2), and it says nothing about whether the token is valid.
  app.head(
    '/connect',
    {
      schema: {
        tags: ['connect'],
        summary: 'Link previews: answers without consuming the connect token or setting a cookie.',
        response: { 200: Type.Null({ description: 'An HTML page would follow on GET.' }) },
      },
    },
    async (_request, reply) =>
      setBrowserSecurityHeaders(reply).code(200).type('text/html; charset=utf-8').send(),
  )

  app.get(
    '/connect/callback',
    {
      schema: {
        tags: ['connect'],
        summary: 'Browser: Dropbox redirects here; the browser is sent back to the main app.',
        querystring: CallbackQuerySchema,
        response: {
          303: Type.Null({ description: 'Redirect to CONNECT_RETURN_URL (Location).' }),
          400: HtmlPage,
        },
      },
    },
    async (request, reply) => {
      const target = await flow.finish({
        state: request.query.state,
        code: request.query.code,
        error: request.query.error,
        flowCookie: request.cookies[FLOW_COOKIE],
      })
      reply.clearCookie(FLOW_COOKIE, flowCookieOptions)
      return setBrowserSecurityHeaders(reply).redirect(target, 303)
    },
  )
}

export default connectBrowser
