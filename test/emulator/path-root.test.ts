/** Team spaces and `Dropbox-API-Path-Root`: home vs root, 422 invalid_root, a migration. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { Emulator } from '../../emulator/index.ts'
import { ACCOUNT_IDS, accountIdFor, EXAMPLE_TEAM } from '../../emulator/index.ts'
import { connect, type RawAnswer, rpc, startTestEmulator, withoutDots } from './test-helpers.ts'

const ROOT = (id: string) => ({
  'dropbox-api-path-root': JSON.stringify({ '.tag': 'root', root: id }),
})

async function listPaths(
  emulator: Emulator,
  token: string,
  headers: Record<string, string>,
  path = '',
) {
  const answer = await rpc(emulator, 'files/list_folder', {
    token,
    body: { path, recursive: true },
    headers,
  })
  assert.equal(answer.status, 200, answer.text)
  return (answer.json as { entries: Array<{ path_display: string }> }).entries.map(
    (e) => e.path_display,
  )
}

function assert422(answer: RawAnswer, body: unknown): void {
  assert.deepEqual(
    { status: answer.status, type: answer.contentType, body: withoutDots(answer.json) },
    { status: 422, type: 'application/json', body },
  )
}

test('path roots', async (t) => {
  const emulator = await startTestEmulator(t)
  const carol = (await connect(emulator, ACCOUNT_IDS.carol)).access_token

  await t.test('a team-space account: root ≠ home, a team and a member id', async () => {
    const account = (await rpc(emulator, 'users/get_current_account', { token: carol }))
      .json as Record<string, unknown>
    assert.deepEqual(account.root_info, {
      '.tag': 'team',
      root_namespace_id: '3000',
      home_namespace_id: '3001',
      home_path: '/Carol Team',
    })
    assert.deepEqual((account.team as { id: string; name: string }).id, EXAMPLE_TEAM.id)
    assert.deepEqual((account.team as { id: string; name: string }).name, 'Example Team')
    assert.equal(account.team_member_id, EXAMPLE_TEAM.carolMemberId)
    assert.deepEqual(account.account_type, { '.tag': 'business' })
  })

  await t.test('without the header (or with home) paths are in the home namespace', async () => {
    const expected = ['/Office', '/Office/carol.txt']
    assert.deepEqual(await listPaths(emulator, carol, {}), expected)
    assert.deepEqual(
      await listPaths(emulator, carol, { 'dropbox-api-path-root': '{".tag": "home"}' }),
      expected,
    )
    assert.deepEqual(
      await listPaths(emulator, carol, { 'dropbox-api-path-root': '"home"' }),
      expected,
    )
  })

  await t.test('with the root header they start at the team root', async () => {
    assert.deepEqual(await listPaths(emulator, carol, ROOT('3000')), [
      '/Carol Team',
      '/Carol Team/Office',
      '/Carol Team/Office/carol.txt',
      '/Team Projects',
      '/Team Projects/Plan.docx',
    ])
    assert.deepEqual(await listPaths(emulator, carol, ROOT('3000'), '/carol team/office'), [
      '/carol team/office',
      '/carol team/office/carol.txt',
    ])
    const hidden = await rpc(emulator, 'files/list_folder', {
      token: carol,
      body: { path: '/Team Projects' },
    })
    assert.equal(hidden.status, 409, 'team folders are out of reach without the header')
  })

  await t.test('a member folder is the same node from both roots', async () => {
    const fromHome = await rpc(emulator, 'files/list_folder', {
      token: carol,
      body: { path: '/Office' },
    })
    const fromRoot = await rpc(emulator, 'files/list_folder', {
      token: carol,
      body: { path: '/Carol Team/Office' },
      headers: ROOT('3000'),
    })
    const id = (answer: RawAnswer) =>
      (answer.json as { entries: Array<{ id: string }> }).entries[0]?.id
    assert.equal(id(fromHome), id(fromRoot))
  })

  await t.test(
    'a root that is not the current one: 422 invalid_root with the current root info',
    async () => {
      const expected = {
        error_summary: 'invalid_root/',
        error: {
          '.tag': 'invalid_root',
          invalid_root: {
            '.tag': 'team',
            root_namespace_id: '3000',
            home_namespace_id: '3001',
            home_path: '/Carol Team',
          },
        },
      }
      assert422(
        await rpc(emulator, 'files/list_folder', {
          token: carol,
          body: { path: '' },
          headers: ROOT('3001'),
        }),
        expected,
      )
      assert422(
        await rpc(emulator, 'users/get_current_account', { token: carol, headers: ROOT('1') }),
        expected,
      )
    },
  )

  await t.test('namespace_id: reachable namespaces only', async () => {
    const header = (id: string) => ({
      'dropbox-api-path-root': JSON.stringify({ '.tag': 'namespace_id', namespace_id: id }),
    })
    assert.deepEqual(await listPaths(emulator, carol, header('3001')), [
      '/Office',
      '/Office/carol.txt',
    ])
    assert.equal((await listPaths(emulator, carol, header('3000'))).length, 5)
    assert422(
      await rpc(emulator, 'files/list_folder', {
        token: carol,
        body: { path: '' },
        headers: header('2001'),
      }),
      {
        error_summary: 'no_permission/',
        error: { '.tag': 'no_permission' },
      },
    )
  })

  await t.test('another member of the team does not see Carol’s folder', async () => {
    emulator.seedAccount({
      accountId: accountIdFor('erin'),
      email: 'erin@example.com',
      givenName: 'Erin',
      surname: 'Example',
      homeNamespaceId: '3002',
      team: {
        id: EXAMPLE_TEAM.id,
        name: 'Example Team',
        rootNamespaceId: '3000',
        homePath: '/Erin Team',
      },
      files: [{ path: '/erin.txt', type: 'file' }],
    })
    const erin = (await connect(emulator, accountIdFor('erin'))).access_token
    assert.deepEqual(await listPaths(emulator, erin, ROOT('3000')), [
      '/Team Projects',
      '/Team Projects/Plan.docx',
      '/Erin Team',
      '/Erin Team/erin.txt',
    ])
    const peek = await rpc(emulator, 'files/list_folder', {
      token: erin,
      body: { path: '/Carol Team' },
      headers: ROOT('3000'),
    })
    assert.equal(peek.status, 409)
  })

  await t.test('a malformed header is a 400 in plain text', async () => {
    const cases: Array<[string, string]> = [
      ['{not json', 'could not decode input as JSON'],
      ['{".tag": "root"}', "missing required field 'root'"],
      ['{".tag": "root", "root": 3000}', 'root: expected string, got integer'],
      [
        '{".tag": "root", "root": "30 00"}',
        "root: '30 00' did not match pattern '[-_0-9a-zA-Z:]+'",
      ],
      ['{".tag": "member"}', "unknown tag 'member'"],
      ['[]', 'expected object, got list'],
    ]
    for (const [value, message] of cases) {
      const answer = await rpc(emulator, 'files/list_folder', {
        token: carol,
        body: { path: '' },
        headers: { 'dropbox-api-path-root': value },
      })
      assert.deepEqual(
        [answer.status, answer.contentType, answer.text],
        [
          400,
          'text/plain; charset=utf-8',
          `Error in call to API function "files/list_folder": HTTP header "Dropbox-API-Path-Root": ${message}`,
        ],
      )
    }
  })

  await t.test('migrating to a team space moves the root and resets cursors', async () => {
    const dave = (await connect(emulator, ACCOUNT_IDS.dave)).access_token
    const before = await rpc(emulator, 'files/list_folder', {
      token: dave,
      body: { path: '' },
      headers: ROOT('4001'),
    })
    assert.equal(before.status, 200)
    const { cursor } = before.json as { cursor: string }

    emulator.migrateToTeam(ACCOUNT_IDS.dave)

    const rootInfo = {
      '.tag': 'team',
      root_namespace_id: '4000',
      home_namespace_id: '4001',
      home_path: '/Dave Example',
    }
    assert422(
      await rpc(emulator, 'files/list_folder', {
        token: dave,
        body: { path: '' },
        headers: ROOT('4001'),
      }),
      {
        error_summary: 'invalid_root/',
        error: { '.tag': 'invalid_root', invalid_root: rootInfo },
      },
    )
    const account = (await rpc(emulator, 'users/get_current_account', { token: dave }))
      .json as Record<string, unknown>
    assert.deepEqual(account.root_info, rootInfo)
    assert.equal((account.team as { name: string }).name, 'Dave Example Team')
    assert.deepEqual(await listPaths(emulator, dave, ROOT('4000')), [
      '/Dave Example',
      '/Dave Example/Office',
      '/Dave Example/Office/dave.txt',
      '/Dave Example/Notes.md',
    ])
    assert.deepEqual(await listPaths(emulator, dave, {}), [
      '/Office',
      '/Office/dave.txt',
      '/Notes.md',
    ])
    const stale = await rpc(emulator, 'files/list_folder/continue', {
      token: dave,
      body: { cursor },
    })
    assert.deepEqual(
      [stale.status, withoutDots(stale.json)],
      [409, { error_summary: 'reset/', error: { '.tag': 'reset' } }],
    )
    assert.throws(() => emulator.migrateToTeam(ACCOUNT_IDS.dave), /already in a team space/)
  })
})
