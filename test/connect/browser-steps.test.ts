/** The browser steps' v2 rules (contract §3.2): force_reapprove, and HEAD never burns a link. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Browser, startStack } from '../stack.ts'

async function connectUrl(stack: Awaited<ReturnType<typeof startStack>>): Promise<string> {
  const created = await stack.api('user-1', 'POST', '/v1/connect/sessions')
  assert.equal(created.status, 201)
  return ((await created.json()) as { connect_url: string }).connect_url
}

test('HEAD /connect neither consumes the token nor sets a cookie; GET still works', async (t) => {
  const stack = await startStack(t)
  const url = await connectUrl(stack)
  for (let i = 0; i < 3; i++) {
    const preview = await fetch(url, { method: 'HEAD', redirect: 'manual' })
    assert.equal(preview.status, 200)
    assert.deepEqual(preview.headers.getSetCookie(), [])
    assert.equal(preview.headers.get('location'), null)
    assert.equal(preview.headers.get('referrer-policy'), 'no-referrer')
  }
  // An unknown token looks the same: HEAD is no oracle for valid links.
  const unknown = await fetch(`${stack.baseUrl}/connect?token=nope`, { method: 'HEAD' })
  assert.equal(unknown.status, 200)
  assert.equal(stack.emulator.counters().authorizeRequests.length, 0)
  const opened = await new Browser().get(url)
  assert.equal(opened.status, 302)
  assert.equal(opened.headers.getSetCookie().length, 1)
})

test('the authorize URL asks for force_reapprove=true unless DROPBOX_FORCE_REAPPROVE=false', async (t) => {
  for (const [env, expected] of [
    [{}, 'true'],
    [{ DROPBOX_FORCE_REAPPROVE: 'true' }, 'true'],
    [{ DROPBOX_FORCE_REAPPROVE: 'false' }, null],
  ] as const) {
    const stack = await startStack(t, { env })
    const opened = await new Browser().get(await connectUrl(stack))
    const authorize = new URL(opened.headers.get('location') as string)
    assert.equal(authorize.searchParams.get('force_reapprove'), expected, JSON.stringify(env))
    // The emulator shows its account picker for a forced request, whatever the browser did before.
    const page = await fetch(authorize, { redirect: 'manual' })
    assert.equal(page.status, 200)
  }
})
