/**
 * A browser on the consent page, over real HTTP: GET the authorize URL, read the form,
 * POST the choice, return the redirect's `Location`.
 */
import { errorPageDetail, unescapeHtml } from './authorize-page.ts'
import type { ConsentChoice } from './types.ts'

export async function consent(
  emulatorUrl: string,
  authorizeUrl: string,
  choice: ConsentChoice,
): Promise<string> {
  if (
    typeof choice?.accountId !== 'string' ||
    (choice.decision !== 'allow' && choice.decision !== 'deny')
  ) {
    throw new TypeError('consent: choice must be { accountId, decision: "allow" | "deny" }')
  }
  const target = new URL(authorizeUrl)
  // The SDK hard-codes https://dropbox.com/oauth2/authorize; send such URLs here instead.
  if (/(^|\.)dropbox\.com$/.test(target.hostname)) {
    const base = new URL(emulatorUrl)
    target.protocol = base.protocol
    target.host = base.host
  }
  const page = await fetch(target, { redirect: 'manual' })
  const html = await page.text()
  if (page.status !== 200) throw refused('authorize request', page.status, html)
  const form = /<form method="post" action="([^"]*)">/.exec(html)
  if (form === null) throw new Error('consent: the authorize page has no consent form')
  const fields = new URLSearchParams()
  for (const [, name, value] of html.matchAll(
    /<input type="hidden" name="([^"]*)" value="([^"]*)">/g,
  )) {
    fields.append(unescapeHtml(name as string), unescapeHtml(value as string))
  }
  fields.append('account_id', choice.accountId)
  fields.append('decision', choice.decision)
  const answer = await fetch(new URL(unescapeHtml(form[1] as string), target), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: fields.toString(),
    redirect: 'manual',
  })
  const text = await answer.text()
  const location = answer.headers.get('location')
  if (answer.status === 302 && location !== null) return location
  if (answer.status === 200) return noRedirectAnswer(text)
  throw refused('consent', answer.status, text)
}

/** Without a redirect_uri Dropbox shows the code; it comes back as a query string (`code=…&state=…`). */
function noRedirectAnswer(html: string): string {
  const answer = new URLSearchParams()
  for (const [, name, value] of html.matchAll(/<dt>([^<]*)<\/dt><dd id="[^"]*">([^<]*)<\/dd>/g)) {
    answer.append(name as string, unescapeHtml(value as string))
  }
  return answer.toString()
}

function refused(step: string, status: number, html: string): Error {
  return new Error(
    `consent: ${step} refused (${status}): ${errorPageDetail(html) ?? html.slice(0, 500)}`,
  )
}
