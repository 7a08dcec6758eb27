/**
 * `npm run demo` in a real browser: the demo runs as a child process (emulator, connector
 * child, stand-in main app) on free ports, and Debian's Chromium clicks through it.
 * Screenshots of every step go to test-output/demo/.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type TestContext, test } from 'node:test'
import { importJWK, type JWK, SignJWT } from 'jose'
import { type Browser, chromium, type Page } from 'playwright-core'
import { DEMO_IDENTITY_ISSUER } from '../../demo/keys.ts'
import { PROJECT_ROOT } from '../process.ts'

const CHROMIUM = process.env.CHROMIUM_PATH || '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
]
const SCREENSHOTS = join(PROJECT_ROOT, 'test-output', 'demo')
const ADA = 'demo-user-1'
const GRACE = 'demo-user-2'

if (!existsSync(CHROMIUM)) {
  process.stderr.write(
    `\n${'!'.repeat(78)}\n!! SKIPPING the demo browser test: no Chromium at ${CHROMIUM}.\n` +
      '!! Install it (apt-get install chromium chromium-driver, as .ci/run does) or set CHROMIUM_PATH.\n' +
      `${'!'.repeat(78)}\n\n`,
  )
}
const skip = existsSync(CHROMIUM) ? false : `no Chromium at ${CHROMIUM}`

interface Demo {
  url: string
  connectorUrl: string
  /** The connector's internal listener (`/v1`). */
  connectorApiUrl: string
  emulatorUrl: string
  dir: string
  child: ChildProcess
  exited: Promise<number | null>
  output: () => string
}

/** `node demo/main.ts` on free ports with a fresh demo folder; stopped after the test. */
async function startDemo(t: TestContext): Promise<Demo> {
  const dir = await mkdtemp(join(tmpdir(), 'cc-demo-'))
  const child = spawn(process.execPath, ['demo/main.ts'], {
    cwd: PROJECT_ROOT,
    // Its own process group, so the after hook can reap the connector too if the demo hangs.
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DEMO_DIR: dir,
      DEMO_PORT: '0',
      DEMO_CONNECTOR_PORT: '0',
      DEMO_CONNECTOR_INTERNAL_PORT: '0',
      DEMO_EMULATOR_PORT: '0',
      DROPBOX_APP_KEY: '',
      DROPBOX_APP_SECRET: '',
      LOG_LEVEL: 'warn',
    },
  })
  let output = ''
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve))
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM')
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise((resolve) => {
      timer = setTimeout(resolve, 10_000, 'timeout')
    })
    if ((await Promise.race([exited, timeout])) === 'timeout') {
      process.kill(-(child.pid as number), 'SIGKILL')
    }
    clearTimeout(timer)
    await rm(dir, { recursive: true, force: true })
  })
  const ready = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`demo did not start:\n${output}`)), 30_000)
    const onData = (chunk: Buffer) => {
      output += chunk.toString()
      if (/^Open http:\S+ in your browser/m.test(output)) {
        clearTimeout(timer)
        resolve(output)
      }
    }
    child.stdout?.on('data', onData)
    child.stderr?.on('data', onData)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`demo exited (${code}) before it was ready:\n${output}`))
    })
  })
  const find = (pattern: RegExp) => {
    const match = pattern.exec(ready)?.[1]
    assert.ok(match, `${pattern} in the demo's output:\n${ready}`)
    return match
  }
  return {
    url: find(/^Open (http:\S+) in your browser/m),
    connectorUrl: find(/^ {2}connector +(http:\S+)/m),
    connectorApiUrl: find(/\(API, internal: (http:\S+)\/docs\)/),
    emulatorUrl: find(/^ {2}Dropbox emulator +(http:\S+)/m),
    dir,
    child,
    exited,
    output: () => output,
  }
}

async function launchBrowser(t: TestContext): Promise<Browser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS })
  t.after(() => browser.close())
  return browser
}

async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true })
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true })
}

/** A connector call as the main app makes it (signed assertion for `userId`). */
async function asUser(demo: Demo, userId: string, path: string): Promise<Response> {
  const { identityPrivateJwk } = JSON.parse(
    await readFile(join(demo.dir, 'keys.json'), 'utf8'),
  ) as {
    identityPrivateJwk: JWK
  }
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: identityPrivateJwk.kid })
    .setIssuer(DEMO_IDENTITY_ISSUER)
    .setAudience('cloud-connector')
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(await importJWK(identityPrivateJwk, 'EdDSA'))
  return fetch(`${demo.connectorApiUrl}${path}`, { headers: { 'x-identity-assertion': assertion } })
}

/** What the connector says about a user. */
async function connectionOf(demo: Demo, userId: string): Promise<Record<string, unknown>> {
  const response = await asUser(demo, userId, '/v1/connection')
  assert.equal(response.status, 200)
  return (await response.json()) as Record<string, unknown>
}

async function emulatorCounters(demo: Demo) {
  const response = await fetch(`${demo.emulatorUrl}/__emulator/counters`)
  assert.equal(response.status, 200)
  return (await response.json()) as {
    tokenRequests: { authorization_code: number }
    revocations: number
  }
}

/** The workspace table's rows as "name<TAB>kind<TAB>size". */
function listing(page: Page): Promise<string[]> {
  return page.locator('#files tbody tr').allInnerTexts()
}

/** From the main app's home page to the emulator's consent page. */
async function startConnecting(page: Page, demo: Demo): Promise<void> {
  await page.getByRole('button', { name: 'Connect Dropbox' }).click()
  await page.waitForURL((url) => url.href.startsWith(`${demo.emulatorUrl}/oauth2/authorize?`))
  await page.getByRole('heading', { name: /would like to access your Dropbox/ }).waitFor()
}

test('connect → account and listing → folder navigation → disconnect', { skip }, async (t) => {
  const demo = await startDemo(t)
  const browser = await launchBrowser(t)
  const page = await browser.newPage()

  await page.goto(demo.url)
  assert.equal(await page.locator('#signed-in-as').textContent(), 'Ada Lovelace')
  assert.equal(await page.locator('#connection-status').textContent(), 'Dropbox is not connected.')
  await screenshot(page, '01-not-connected')

  await startConnecting(page, demo)
  await page.getByLabel('Alice Example').check()
  await screenshot(page, '02-consent')
  await page.getByRole('button', { name: 'Allow' }).click()
  await page.waitForURL((url) => url.href === `${demo.url}/?notice=connected`)

  assert.equal(await page.locator('.notice').textContent(), 'Your Dropbox is connected.')
  assert.equal(await page.locator('#account-name').textContent(), 'Alice Example')
  assert.equal(await page.locator('#account-email').textContent(), 'alice@example.com')
  assert.deepEqual(await listing(page), [
    'Big\tfolder\t',
    'Office\tfolder\t',
    'Office10\tfolder\t',
    'Photos\tfolder\t',
  ])
  await screenshot(page, '03-connected')

  await page.getByRole('link', { name: 'Office', exact: true }).click()
  await page.waitForURL((url) => url.href === `${demo.url}/?path=Office`)
  assert.deepEqual(await listing(page), ['Reports\tfolder\t', 'notes.txt\tfile\t512 B'])

  // A file name is a download link: the main app streams the connector's bytes through.
  const [download] = await Promise.all([
    page.waitForEvent('download'),
    page.getByRole('link', { name: 'notes.txt' }).click(),
  ])
  assert.equal(download.suggestedFilename(), 'notes.txt')
  const saved = await readFile(await download.path())
  const direct = await asUser(demo, ADA, '/v1/workspace/download?path=Office%2Fnotes.txt')
  assert.equal(direct.status, 200)
  assert.deepEqual(saved, Buffer.from(await direct.arrayBuffer()))
  assert.equal(saved.length, 512)
  const fetched = (href: string, range?: string) =>
    page.evaluate(
      async ([url, range]) => {
        const response = await fetch(url as string, range ? { headers: { range } } : {})
        const body = new Uint8Array(await response.arrayBuffer())
        const header = (name: string) => response.headers.get(name)
        return {
          status: response.status,
          type: header('content-type'),
          length: header('content-length'),
          disposition: header('content-disposition'),
          contentRange: header('content-range'),
          bytes: body.length,
          text: new TextDecoder().decode(body),
        }
      },
      [href, range],
    )
  const file = await fetched('/dropbox/download?path=Office%2Fnotes.txt')
  assert.deepEqual(
    { ...file, text: undefined },
    {
      status: 200,
      type: 'application/octet-stream',
      length: '512',
      disposition: `attachment; filename="notes.txt"; filename*=UTF-8''notes.txt`,
      contentRange: null,
      bytes: 512,
      text: undefined,
    },
  )
  // A browser's Range (resuming, seeking) goes through to the connector and back.
  const part = await fetched('/dropbox/download?path=Office%2Fnotes.txt', 'bytes=100-199')
  assert.deepEqual(
    [part.status, part.contentRange, part.length, part.text],
    [206, 'bytes 100-199/512', '100', saved.subarray(100, 200).toString('utf8')],
  )
  const beyond = await fetched('/dropbox/download?path=Office%2Fnotes.txt', 'bytes=600-')
  assert.deepEqual([beyond.status, beyond.contentRange], [416, 'bytes */512'])
  assert.match(beyond.text, /416 range_not_satisfiable/)
  // A folder or a missing file is the connector's refusal on the main app's HTML page.
  const folder = await fetched('/dropbox/download?path=Office')
  assert.equal(folder.status, 409)
  assert.match(folder.text, /not_a_file/)
  const missing = await fetched(`/dropbox/download?path=${encodeURIComponent('<b>x</b>.txt')}`)
  assert.equal(missing.status, 404)
  assert.match(missing.text, /404 path_not_found/)
  await page.getByRole('link', { name: 'Reports' }).click()
  await page.waitForURL((url) => url.href === `${demo.url}/?path=Office%2FReports`)
  assert.equal(await page.locator('#breadcrumbs').textContent(), 'Workspace / Office / Reports')
  assert.deepEqual(await listing(page), ['Q1.pdf\tfile\t242.3 KB'])
  await screenshot(page, '04-folder')

  await page.getByRole('button', { name: 'Disconnect Dropbox' }).click()
  await page.waitForURL((url) => url.href === `${demo.url}/?notice=disconnected`)
  assert.equal(await page.locator('.notice').textContent(), 'Your Dropbox is disconnected.')
  assert.equal(await page.locator('#connection-status').textContent(), 'Dropbox is not connected.')
  assert.equal(await page.locator('#files').count(), 0)
  await screenshot(page, '05-disconnected')
  assert.deepEqual(await connectionOf(demo, ADA), { provider: 'dropbox', status: 'not_connected' })
  assert.equal((await emulatorCounters(demo)).revocations, 1, 'the token was revoked at Dropbox')

  // Ctrl+C / SIGTERM stops every part: the demo exits 0 and the connector is gone.
  demo.child.kill('SIGTERM')
  assert.equal(await demo.exited, 0)
  await assert.rejects(fetch(`${demo.connectorUrl}/healthz`))
})

test('Cancel on the consent page: a clear message and nothing connected', { skip }, async (t) => {
  const demo = await startDemo(t)
  const browser = await launchBrowser(t)
  const page = await browser.newPage()
  await page.goto(demo.url)

  await startConnecting(page, demo)
  await page.getByRole('button', { name: 'Cancel' }).click()
  await page.waitForURL((url) => url.href.startsWith(`${demo.url}/dropbox/return?`))
  assert.equal(
    await page.getByRole('alert').textContent(),
    'You cancelled the Dropbox authorization, so nothing was connected.',
  )
  await screenshot(page, '06-denied')

  await page.getByRole('link', { name: 'Back to your account' }).click()
  assert.equal(await page.locator('#connection-status').textContent(), 'Dropbox is not connected.')
  assert.deepEqual(await connectionOf(demo, ADA), { provider: 'dropbox', status: 'not_connected' })
})

test('a connect started by one user and finished while signed in as the other is refused', {
  skip,
}, async (t) => {
  const demo = await startDemo(t)
  const browser = await launchBrowser(t)
  const context = await browser.newContext()

  // Ada starts connecting and reaches Dropbox's consent page…
  const consentTab = await context.newPage()
  await consentTab.goto(demo.url)
  assert.equal(await consentTab.locator('#signed-in-as').textContent(), 'Ada Lovelace')
  await startConnecting(consentTab, demo)

  // …meanwhile the main app's session in this browser switches to Grace…
  const appTab = await context.newPage()
  await appTab.goto(demo.url)
  await appTab.getByRole('button', { name: 'Switch to Grace Hopper' }).click()
  await appTab.locator('#signed-in-as', { hasText: 'Grace Hopper' }).waitFor()

  // …and the consent is allowed: the main app completes as Grace, the connector refuses.
  await consentTab.getByLabel('Bob Example').check()
  await consentTab.getByRole('button', { name: 'Allow' }).click()
  await consentTab.waitForURL((url) => url.href.startsWith(`${demo.url}/dropbox/return?`))
  assert.equal(
    await consentTab.getByRole('alert').textContent(),
    'This Dropbox connection was started by another user, not by Grace Hopper who is signed in now. For your safety nothing was connected and the link was cancelled.',
  )
  await screenshot(consentTab, '07-session-user-mismatch')

  await consentTab.getByRole('link', { name: 'Back to your account' }).click()
  assert.equal(
    await consentTab.locator('#connection-status').textContent(),
    'Dropbox is not connected.',
  )
  assert.equal(await consentTab.locator('#signed-in-as').textContent(), 'Grace Hopper')
  assert.deepEqual(await connectionOf(demo, GRACE), {
    provider: 'dropbox',
    status: 'not_connected',
  })
  assert.deepEqual(await connectionOf(demo, ADA), { provider: 'dropbox', status: 'not_connected' })
  assert.equal(
    (await emulatorCounters(demo)).tokenRequests.authorization_code,
    0,
    'the code was never exchanged',
  )
})
