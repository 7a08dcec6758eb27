/** `files/list_folder` and `/continue`: paths, entries, paging, changes, cursor errors. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Emulator } from '../../emulator/index.ts'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import { connect, rpc, startTestEmulator, withoutDots } from './test-helpers.ts'

interface Page {
  entries: Array<Record<string, unknown>>
  cursor: string
  has_more: boolean
}

async function list(
  emulator: Emulator,
  token: string,
  body: Record<string, unknown>,
): Promise<Page> {
  const answer = await rpc(emulator, 'files/list_folder', { token, body })
  assert.equal(answer.status, 200, answer.text)
  return answer.json as Page
}

async function next(emulator: Emulator, token: string, cursor: string): Promise<Page> {
  const answer = await rpc(emulator, 'files/list_folder/continue', { token, body: { cursor } })
  assert.equal(answer.status, 200, answer.text)
  return answer.json as Page
}

const paths = (page: Page) => page.entries.map((entry) => entry.path_display)

test('list_folder', async (t) => {
  const emulator = await startTestEmulator(t)
  const { access_token: token } = await connect(emulator, ACCOUNT_IDS.alice)

  await t.test('the root is "" and lists its children only', async () => {
    const page = await list(emulator, token, { path: '' })
    assert.deepEqual(paths(page), ['/Office', '/Office10', '/Photos', '/Big'])
    assert.equal(page.has_more, false)
    assert.match(page.cursor, /^AA[A-Za-z0-9_-]+$/)
  })

  await t.test('entries carry Dropbox metadata fields', async () => {
    const page = await list(emulator, token, { path: '/Office' })
    const [reports, notes] = page.entries
    assert.deepEqual(Object.keys(reports ?? {}), [
      '.tag',
      'name',
      'path_lower',
      'path_display',
      'id',
    ])
    assert.deepEqual(
      { ...reports, id: '' },
      {
        '.tag': 'folder',
        name: 'Reports',
        path_lower: '/office/reports',
        path_display: '/Office/Reports',
        id: '',
      },
    )
    assert.match(String(reports?.id), /^id:[A-Za-z0-9_-]{22}$/)
    assert.deepEqual(Object.keys(notes ?? {}), [
      '.tag',
      'name',
      'path_lower',
      'path_display',
      'id',
      'client_modified',
      'server_modified',
      'rev',
      'size',
      'is_downloadable',
      'content_hash',
    ])
    assert.equal(notes?.size, 512)
    assert.equal(notes?.client_modified, '2024-03-01T09:30:00Z')
    assert.match(String(notes?.server_modified), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    assert.match(String(notes?.rev), /^[0-9a-f]{9,}$/)
    assert.match(String(notes?.content_hash), /^[0-9a-f]{64}$/)
  })

  await t.test(
    'lookups are case-insensitive; path_display keeps the request case for the folder',
    async () => {
      const page = await list(emulator, token, { path: '/OFFICE/reports' })
      assert.deepEqual(
        page.entries.map((e) => [e.path_lower, e.path_display]),
        [['/office/reports/q1.pdf', '/OFFICE/reports/Q1.pdf']],
      )
    },
  )

  await t.test('/Office and /Office10 are different folders', async () => {
    assert.deepEqual(paths(await list(emulator, token, { path: '/office10' })), ['/office10/x.txt'])
  })

  await t.test('recursive lists the folder itself first, then everything under it', async () => {
    assert.deepEqual(paths(await list(emulator, token, { path: '/Office', recursive: true })), [
      '/Office',
      '/Office/Reports',
      '/Office/Reports/Q1.pdf',
      '/Office/notes.txt',
    ])
    const everything = await list(emulator, token, { path: '', recursive: true })
    assert.equal(everything.entries.length, 4 + 3 + 1 + 1 + 500)
    assert.equal(everything.entries[0]?.path_display, '/Office')
  })

  await t.test('id: and ns: paths', async () => {
    const office = (await list(emulator, token, { path: '' })).entries[0]
    assert.deepEqual(paths(await list(emulator, token, { path: office?.id })), [
      '/Office/Reports',
      '/Office/notes.txt',
    ])
    assert.deepEqual(paths(await list(emulator, token, { path: 'ns:1001/Office/Reports' })), [
      '/Office/Reports/Q1.pdf',
    ])
    const missing = await rpc(emulator, 'files/list_folder', {
      token,
      body: { path: 'id:AAAAAAAAAAAAAAAAAAAAAA' },
    })
    assert.equal(missing.status, 409)
    const foreign = await rpc(emulator, 'files/list_folder', { token, body: { path: 'ns:2001' } })
    assert.deepEqual(withoutDots(foreign.json), {
      error_summary: 'path/not_found/',
      error: { '.tag': 'path', path: { '.tag': 'not_found' } },
    })
  })

  await t.test('paging hands out exactly `limit` entries until has_more is false', async () => {
    let page = await list(emulator, token, { path: '/Big', limit: 7 })
    const sizes = [page.entries.length]
    const names = new Set(page.entries.map((e) => e.name))
    while (page.has_more) {
      page = await next(emulator, token, page.cursor)
      sizes.push(page.entries.length)
      for (const entry of page.entries) names.add(entry.name)
    }
    assert.equal(names.size, 500)
    assert.equal(sizes.length, 72)
    assert.ok(sizes.slice(0, -1).every((size) => size === 7))
    assert.equal(sizes.at(-1), 500 - 71 * 7)
  })

  await t.test('pages stay stable while the folder changes; the changes come after', async () => {
    const { access_token: bob } = await connect(emulator, ACCOUNT_IDS.bob)
    emulator.addFiles(ACCOUNT_IDS.bob, [
      { path: '/Work/a.txt', type: 'file' },
      { path: '/Work/b.txt', type: 'file' },
      { path: '/Work/c.txt', type: 'file' },
    ])
    const first = await list(emulator, bob, { path: '/Work', limit: 2 })
    assert.deepEqual(paths(first), ['/Work/a.txt', '/Work/b.txt'])
    emulator.addFiles(ACCOUNT_IDS.bob, [{ path: '/Work/d.txt', type: 'file' }])
    emulator.deleteFile(ACCOUNT_IDS.bob, '/Work/a.txt')
    const second = await next(emulator, bob, first.cursor)
    assert.deepEqual(paths(second), ['/Work/c.txt'])
    assert.equal(second.has_more, false)
    const changes = await next(emulator, bob, second.cursor)
    assert.deepEqual(
      changes.entries.map((e) => [e['.tag'], e.path_display]),
      [
        ['file', '/Work/d.txt'],
        ['deleted', '/Work/a.txt'],
      ],
    )
    assert.deepEqual(Object.keys(changes.entries[1] ?? {}), [
      '.tag',
      'name',
      'path_lower',
      'path_display',
    ])
    const quiet = await next(emulator, bob, changes.cursor)
    assert.deepEqual(quiet.entries, [])
    assert.equal(quiet.has_more, false)
  })

  await t.test('deleted entries appear only with include_deleted', async () => {
    emulator.addFiles(ACCOUNT_IDS.alice, [
      { path: '/Trash/gone.txt', type: 'file' },
      { path: '/Trash/kept.txt', type: 'file' },
    ])
    emulator.deleteFile(ACCOUNT_IDS.alice, '/Trash/gone.txt')
    assert.deepEqual(paths(await list(emulator, token, { path: '/Trash' })), ['/Trash/kept.txt'])
    const withDeleted = await list(emulator, token, { path: '/Trash', include_deleted: true })
    assert.deepEqual(
      withDeleted.entries.map((e) => [e['.tag'], e.name]),
      [
        ['deleted', 'gone.txt'],
        ['file', 'kept.txt'],
      ],
    )
    // Re-created at the same path: a new file with a new id.
    const before = withDeleted.entries[1]?.id
    emulator.addFiles(ACCOUNT_IDS.alice, [{ path: '/Trash/gone.txt', type: 'file', size: 9 }])
    const after = await list(emulator, token, { path: '/Trash' })
    assert.deepEqual(paths(after), ['/Trash/kept.txt', '/Trash/gone.txt'])
    assert.equal(after.entries[0]?.id, before)
  })

  await t.test('route errors: not_found, not_folder, malformed_path', async () => {
    for (const [path, tag] of [
      ['/Nope', 'not_found'],
      ['/Office/notes.txt', 'not_folder'],
      ['/Office//Reports', 'malformed_path'],
      ['/Office/../Photos', 'malformed_path'],
    ]) {
      const answer = await rpc(emulator, 'files/list_folder', { token, body: { path } })
      assert.deepEqual(
        { status: answer.status, type: answer.contentType, body: withoutDots(answer.json) },
        {
          status: 409,
          type: 'application/json',
          body: { error_summary: `path/${tag}/`, error: { '.tag': 'path', path: { '.tag': tag } } },
        },
        path,
      )
    }
  })

  await t.test('continue: foreign, tampered and stale cursors', async () => {
    const { cursor } = await list(emulator, token, { path: '/Office' })
    const { access_token: bob } = await connect(emulator, ACCOUNT_IDS.bob)
    const invalid =
      'Error in call to API function "files/list_folder/continue": Invalid "cursor" parameter.'
    assert.equal(
      (await rpc(emulator, 'files/list_folder/continue', { token: bob, body: { cursor } })).text,
      invalid,
    )
    const tampered = `${cursor.slice(0, -2)}${cursor.endsWith('A') ? 'B' : 'A'}`
    assert.equal(
      (await rpc(emulator, 'files/list_folder/continue', { token, body: { cursor: tampered } }))
        .text,
      invalid,
    )

    emulator.addFiles(ACCOUNT_IDS.alice, [{ path: '/Doomed/x.txt', type: 'file' }])
    const doomed = await list(emulator, token, { path: '/Doomed' })
    emulator.deleteFile(ACCOUNT_IDS.alice, '/Doomed')
    const gone = await rpc(emulator, 'files/list_folder/continue', {
      token,
      body: { cursor: doomed.cursor },
    })
    assert.deepEqual(
      [gone.status, withoutDots(gone.json)],
      [
        409,
        {
          error_summary: 'path/not_found/',
          error: { '.tag': 'path', path: { '.tag': 'not_found' } },
        },
      ],
    )
  })

  await t.test('ids and revs are the same in every run', async (t) => {
    const other = await startTestEmulator(t)
    const { access_token: otherToken } = await connect(other, ACCOUNT_IDS.alice)
    const mine = await list(emulator, token, { path: '/Photos' })
    const theirs = await list(other, otherToken, { path: '/Photos' })
    assert.deepEqual(mine.entries, theirs.entries)
  })
})
