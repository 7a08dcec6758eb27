/** The content host: files/download on the wire, and files/get_metadata on the API host. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { contentSeed, contentSlice } from '../../emulator/content.ts'
import { STANDARD_ACCOUNTS } from '../../emulator/index.ts'
import { connect, rpc, startTestEmulator, withoutDots } from './test-helpers.ts'

const ALICE = STANDARD_ACCOUNTS.find((a) => a.email === 'alice@example.com')?.accountId as string
const CAROL = STANDARD_ACCOUNTS.find((a) => a.email === 'carol@example.com')?.accountId as string
const ALL_READ = 'account_info.read files.metadata.read files.content.read'

async function download(
  url: string,
  token: string | null,
  arg: string | null,
  headers: Record<string, string> = {},
) {
  const all: Record<string, string> = { ...headers }
  if (token !== null) all.authorization = `Bearer ${token}`
  if (arg !== null) all['dropbox-api-arg'] = arg
  const response = await fetch(`${url}/2/files/download`, { method: 'POST', headers: all })
  const body = Buffer.from(await response.arrayBuffer())
  return { response, body, text: body.toString('utf8') }
}

test('files/download', async (t) => {
  const emulator = await startTestEmulator(t)
  const { access_token: token } = await connect(emulator, ALICE, { scope: ALL_READ })
  const content = emulator.contentUrl

  await t.test('the whole file: bytes, length, Dropbox-API-Result without .tag', async () => {
    const { response, body } = await download(content, token, '{"path":"/Office/notes.txt"}')
    assert.equal(response.status, 200)
    assert.equal(response.headers.get('content-type'), 'application/octet-stream')
    assert.equal(response.headers.get('content-length'), '512')
    const result = JSON.parse(response.headers.get('dropbox-api-result') as string)
    assert.equal(result['.tag'], undefined)
    assert.equal(result.name, 'notes.txt')
    assert.equal(result.path_display, '/Office/notes.txt')
    assert.equal(result.size, 512)
    assert.match(result.rev, /^[0-9a-f]{9,}$/)
    assert.deepEqual(body, contentSlice(contentSeed(result), 0, 512))
    assert.match(body.toString('utf8'), /^0{15}\nnotes\.txt rev /)
  })

  await t.test('Range: first bytes, an open end, a suffix; invalid ones', async () => {
    const arg = '{"path":"/Photos/beach.jpg"}'
    const size = 2_097_152
    const first = await download(content, token, arg, { range: 'bytes=0-99' })
    assert.equal(first.response.status, 206)
    assert.equal(first.response.headers.get('content-range'), `bytes 0-99/${size}`)
    assert.equal(first.body.length, 100)
    const seed = contentSeed(JSON.parse(first.response.headers.get('dropbox-api-result') ?? '{}'))
    assert.deepEqual(first.body, contentSlice(seed, 0, 100))
    const across = await download(content, token, arg, { range: 'bytes=65530-65551' })
    assert.deepEqual(across.body, contentSlice(seed, 65_530, 65_552), 'across a block boundary')
    assert.equal(across.body.subarray(6).toString('latin1'), '000000000000001\n')
    const suffix = await download(content, token, arg, { range: 'bytes=-10' })
    assert.equal(
      suffix.response.headers.get('content-range'),
      `bytes ${size - 10}-${size - 1}/${size}`,
    )
    assert.deepEqual(suffix.body, contentSlice(seed, size - 10, size))
    const beyond = await download(content, token, arg, { range: `bytes=${size}-` })
    assert.equal(beyond.response.status, 416)
    assert.equal(beyond.response.headers.get('content-range'), `bytes */${size}`)
    const ignored = await download(content, token, arg, { range: 'bytes=9-3' })
    assert.equal(ignored.response.status, 200, 'a malformed range is ignored (RFC 9110 §14.2)')
    assert.equal(ignored.body.length, size)
  })

  await t.test('non-ASCII paths must be \\u-escaped in the header', async () => {
    emulator.addFiles(ALICE, [{ path: '/Docs/Grüße €.txt', type: 'file', size: 10 }])
    const escaped = await download(content, token, '{"path":"/Docs/Gr\\u00fc\\u00dfe \\u20ac.txt"}')
    assert.equal(escaped.response.status, 200)
    const result = escaped.response.headers.get('dropbox-api-result') as string
    assert.match(result, /^[\x20-\x7e]+$/, 'the result is ASCII too')
    assert.equal(JSON.parse(result).name, 'Grüße €.txt')
    const raw = await fetch(`${content}/2/files/download`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'dropbox-api-arg': Buffer.from('{"path":"/Docs/Grüße €.txt"}', 'utf8').toString('latin1'),
      },
    })
    assert.equal(raw.status, 400)
    assert.match(await raw.text(), /Dropbox-API-Arg": could not decode input as JSON/)
  })

  await t.test('route errors: not_found, not_file; malformed arguments: 400 text', async () => {
    const missing = await download(content, token, '{"path":"/nope.txt"}')
    assert.deepEqual(
      [missing.response.status, withoutDots(JSON.parse(missing.text))],
      [
        409,
        {
          error_summary: 'path/not_found/',
          error: { '.tag': 'path', path: { '.tag': 'not_found' } },
        },
      ],
    )
    const folder = await download(content, token, '{"path":"/Office"}')
    assert.equal(folder.response.status, 409)
    assert.deepEqual(JSON.parse(folder.text).error, {
      '.tag': 'path',
      path: { '.tag': 'not_file' },
    })
    const noArg = await download(content, token, null)
    assert.equal(noArg.response.status, 400)
    const root = await download(content, token, '{"path":""}')
    assert.equal(root.response.status, 400)
    assert.match(root.text, /did not match pattern/)
    const noAuth = await download(content, null, '{"path":"/Office/notes.txt"}')
    assert.equal(noAuth.response.status, 400)
  })

  await t.test(
    'missing_scope without files.content.read; the API host has no download',
    async () => {
      const { access_token: narrow } = await connect(emulator, ALICE)
      const answer = await download(content, narrow, '{"path":"/Office/notes.txt"}')
      assert.deepEqual(
        [answer.response.status, withoutDots(JSON.parse(answer.text))],
        [
          401,
          {
            error_summary: 'missing_scope/',
            error: { '.tag': 'missing_scope', required_scope: 'files.content.read' },
          },
        ],
      )
      const onApiHost = await download(emulator.url, token, '{"path":"/Office/notes.txt"}')
      assert.equal(onApiHost.response.status, 404)
    },
  )

  await t.test('path root: a team member reads the team space', async () => {
    const { access_token: carol } = await connect(emulator, CAROL, { scope: ALL_READ })
    const arg = '{"path":"/Team Projects/Plan.docx"}'
    const home = await download(content, carol, arg)
    assert.equal(home.response.status, 409, 'not in the home namespace')
    const state = emulator.describe().accounts.find((a) => a.accountId === CAROL)
    const pathRoot = JSON.stringify({ '.tag': 'root', root: state?.rootInfo.root_namespace_id })
    const team = await download(content, carol, arg, { 'dropbox-api-path-root': pathRoot })
    assert.equal(team.response.status, 200)
    assert.equal(team.body.length, 18_000)
  })

  await t.test(
    'reset_mid_body: headers and some bytes, then a reset; the call log says so',
    async () => {
      emulator.resetCounters()
      emulator.injectFault('/2/files/download', { kind: 'reset_mid_body', afterBytes: 70_000 })
      const response = await fetch(`${content}/2/files/download`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'dropbox-api-arg': '{"path":"/Photos/beach.jpg"}',
        },
      })
      assert.equal(response.status, 200)
      await assert.rejects(response.arrayBuffer())
      const [call] = emulator.counters().calls
      assert.deepEqual(call?.streamed, { bytes: 70_000, end: 'reset' })
    },
  )
})

test('files/get_metadata', async (t) => {
  const emulator = await startTestEmulator(t)
  const { access_token: token } = await connect(emulator, ALICE)
  const file = await rpc(emulator, 'files/get_metadata', {
    token,
    body: { path: '/office/REPORTS/Q1.pdf' },
  })
  assert.equal(file.status, 200)
  const entry = file.json as Record<string, unknown>
  assert.equal(entry['.tag'], 'file')
  assert.equal(entry.name, 'Q1.pdf')
  assert.equal(entry.path_lower, '/office/reports/q1.pdf')
  assert.equal(entry.size, 248_113)
  const folder = await rpc(emulator, 'files/get_metadata', { token, body: { path: '/Office' } })
  assert.equal((folder.json as Record<string, unknown>)['.tag'], 'folder')
  const missing = await rpc(emulator, 'files/get_metadata', { token, body: { path: '/none' } })
  assert.equal(missing.status, 409)
  assert.deepEqual((missing.json as { error: unknown }).error, {
    '.tag': 'path',
    path: { '.tag': 'not_found' },
  })
  const root = await rpc(emulator, 'files/get_metadata', { token, body: { path: '' } })
  assert.equal(root.status, 400)
  assert.match(root.text, /The root folder is unsupported/)
})
