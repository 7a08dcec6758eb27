/** The connector's only HTML: minimal outcome pages for the browser steps of the connect flow. */
import type { FastifyReply } from 'fastify'

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => ESCAPES[character] as string)
}

/** Headers of every browser response in the flow: nothing leaks via Referer, caches or frames. */
export function setBrowserSecurityHeaders(reply: FastifyReply): FastifyReply {
  return reply.headers({
    'referrer-policy': 'no-referrer',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  })
}

export function sendPage(reply: FastifyReply, status: number, title: string, message: string) {
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1e1e1e}h1{font-size:1.4rem}</style>
</head><body><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p></body></html>
`
  return setBrowserSecurityHeaders(reply).code(status).type('text/html; charset=utf-8').send(html)
}
