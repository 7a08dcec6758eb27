/** The consent and error pages of `/oauth2/authorize`. Everything echoed is escaped. */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => ESCAPES[c] as string)
}

export function unescapeHtml(value: string): string {
  return value.replace(/&(amp|lt|gt|quot|#39);/g, (_, name: string) => {
    const found = Object.entries(ESCAPES).find(([, entity]) => entity === `&${name};`)
    return found ? found[0] : _
  })
}

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}
label{display:block;margin:.5rem 0}button{margin-right:.5rem;padding:.4rem 1rem}</style></head>
<body>
${body}
</body>
</html>
`
}

export interface ConsentView {
  requestId: string
  appKey: string
  scopes: readonly string[]
  accessType: 'offline' | 'online'
  accounts: ReadonlyArray<{ accountId: string; displayName: string; email: string }>
}

export function consentPage(view: ConsentView): string {
  const accounts = view.accounts
    .map(
      (account, i) =>
        `<label><input type="radio" name="account_id" value="${escapeHtml(account.accountId)}"${i === 0 ? ' checked' : ''}> ${escapeHtml(account.displayName)} &lt;${escapeHtml(account.email)}&gt;</label>`,
    )
    .join('\n')
  const scopes = view.scopes.map((scope) => `<li>${escapeHtml(scope)}</li>`).join('')
  return page(
    'Dropbox emulator: API request authorization',
    `<h1>${escapeHtml(view.appKey)} would like to access your Dropbox</h1>
<p>Permissions:</p><ul>${scopes}</ul>
<p>${view.accessType === 'offline' ? 'The app keeps access while you are away (offline).' : 'Short-lived access only (online).'}</p>
<form method="post" action="/oauth2/authorize">
<input type="hidden" name="request_id" value="${escapeHtml(view.requestId)}">
<fieldset><legend>Sign in as</legend>
${accounts}
</fieldset>
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Cancel</button>
</form>`,
  )
}

/** Dropbox's wording for a bad authorize request; the detail is what a developer needs. */
export function errorPage(detail: string): string {
  return page(
    'Dropbox emulator: error',
    `<h1>Error (400)</h1>
<p>It seems the app you were using submitted a bad request. If you would like to report this error to the app's developer, include the information below.</p>
<h2>More details for developers</h2>
<p id="detail">${escapeHtml(detail)}</p>`,
  )
}

/** Used by `consent()` to say why the emulator refused. */
export function errorPageDetail(html: string): string | null {
  const match = /<p id="detail">([\s\S]*?)<\/p>/.exec(html)
  return match?.[1] === undefined ? null : unescapeHtml(match[1])
}
