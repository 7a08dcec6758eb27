import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CloudError } from '../../src/cloud/errors.ts'
import { toCloudAccount, toCloudEntry, toCloudListing } from '../../src/dropbox/mappers.ts'
import { DropboxWorkspaceHandler } from '../../src/dropbox/workspace-handler.ts'
import { seededRandom } from '../seeded-random.ts'

const workspace = new DropboxWorkspaceHandler('/Work')

function listingWithSize(size: unknown) {
  const file: Record<string, unknown> = {
    '.tag': 'file',
    id: 'id:1',
    name: 'a.txt',
    path_lower: '/work/a.txt',
    path_display: '/Work/a.txt',
  }
  if (size !== undefined) file.size = size
  return toCloudListing({ entries: [file], cursor: 'c', has_more: false }, '', workspace)
}

test('a file size is kept when it is a byte count, and 0 when Dropbox gives none', () => {
  for (const size of [0, 33, 2 ** 40, Number.MAX_SAFE_INTEGER]) {
    assert.equal(listingWithSize(size).entries[0]?.size, size)
  }
  assert.equal(listingWithSize(undefined).entries[0]?.size, 0)
})

test('any other size is an unexpected answer from Dropbox (502), not a number passed on', () => {
  // JSON.parse gives Infinity for 1e400; the others are what a broken upstream could send.
  for (const size of [1.5, -1, Number.POSITIVE_INFINITY, 2 ** 53, '33', null, {}]) {
    assert.throws(
      () => listingWithSize(size),
      (error: unknown) => error instanceof CloudError && error.code === 'upstream_error',
      `size ${String(size)}`,
    )
  }
})

const GOOD_FILE = {
  '.tag': 'file',
  id: 'id:1',
  name: 'a.txt',
  path_lower: '/work/a.txt',
  path_display: '/Work/a.txt',
  size: 3,
  rev: 'r',
  server_modified: 's',
  content_hash: 'h',
}

/** Well-formed answers of each kind (account, listing, metadata), which `anyAnswer` damages. */
const GOOD_ANSWERS = [
  {
    account_id: 'dbid:1',
    name: { display_name: 'A' },
    email: 'a@example.com',
    email_verified: true,
    country: 'US',
    team: { id: 't', name: 'T' },
    root_info: { '.tag': 'team', root_namespace_id: '2', home_namespace_id: '1', home_path: '/A' },
  },
  {
    entries: [
      GOOD_FILE,
      { '.tag': 'folder', id: 'id:2', name: 'B', path_lower: '/work/b', path_display: '/Work/B' },
      { '.tag': 'deleted', name: 'c', path_lower: '/work/c', path_display: '/Work/c' },
    ],
    cursor: 'c',
    has_more: false,
  },
  GOOD_FILE,
]

/**
 * Any JSON Dropbox could send, valid or not: half built from nothing, half a well-formed answer
 * with a few values replaced at any depth. Generated from a seed (the same cases every run),
 * with the field names the mappers read and a few that objects inherit (`toString`, `valueOf`,
 * `__proto__`), as `JSON.parse` gives them.
 */
function anyAnswer(random: () => number): unknown {
  // Stands for the number literal `1e400`, which JavaScript cannot hold and JSON.parse reads as
  // Infinity: put into the text after it is made.
  const HUGE = '<1e400>'
  const KEYS = [
    ...['.tag', 'id', 'name', 'path_lower', 'path_display', 'size', 'server_modified', 'rev'],
    ...['content_hash', 'entries', 'cursor', 'has_more', 'account_id', 'email', 'country'],
    ...['email_verified', 'display_name', 'team', 'root_info', 'root_namespace_id'],
    ...['home_namespace_id', 'home_path', 'toString', 'valueOf', '__proto__'],
  ]
  const LEAVES = [
    'file',
    'folder',
    'deleted',
    'user',
    'team',
    '/work/a.txt',
    '/Work/a.txt',
    '/work',
    '/Work',
    '/other/b',
    '',
    'x',
    '0',
    0,
    1,
    -1,
    1.5,
    2 ** 53,
    HUGE,
    true,
    false,
    null,
  ]
  const oneOf = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T
  const value = (depth: number): unknown => {
    const pick = random()
    if (depth > 3 || pick < 0.5) return oneOf(LEAVES)
    if (pick < 0.65) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1))
    const fields = Array.from({ length: Math.floor(random() * 8) }, () => [
      oneOf(KEYS),
      value(depth + 1),
    ])
    return Object.fromEntries(fields)
  }
  const damage = (node: unknown): unknown => {
    if (typeof node !== 'object' || node === null) return node
    const copy = (Array.isArray(node) ? [...node] : { ...node }) as Record<string, unknown>
    const keys = Object.keys(copy)
    for (const key of keys) {
      const roll = random()
      if (roll < 0.1) copy[key] = value(1)
      else if (roll < 0.15) delete copy[key]
      else copy[key] = damage(copy[key])
    }
    if (!Array.isArray(node) && random() < 0.2) copy[oneOf(KEYS)] = value(1)
    return copy
  }
  const answer = random() < 0.5 ? value(0) : damage(oneOf(GOOD_ANSWERS))
  // Through JSON, as an answer arrives: `1e400` becomes Infinity, `__proto__` an own key.
  return JSON.parse(JSON.stringify(answer)?.replaceAll(`"${HUGE}"`, '1e400') ?? 'null')
}

test('any answer either maps or is refused as upstream_error: a mapper never throws anything else', () => {
  const random = seededRandom(18)
  const mappers = [
    (raw: unknown) => toCloudAccount(raw),
    (raw: unknown) => toCloudListing(raw, '', workspace),
    (raw: unknown) => toCloudEntry(raw, workspace, 'files/get_metadata'),
  ]
  let refused = 0
  let mapped = 0
  for (let i = 0; i < 6000; i++) {
    const raw = anyAnswer(random)
    for (const map of mappers) {
      try {
        map(raw)
        mapped++
      } catch (error) {
        assert.ok(
          error instanceof CloudError && error.code === 'upstream_error',
          `${JSON.stringify(raw)} → ${String(error)}`,
        )
        refused++
      }
    }
  }
  // Both outcomes are exercised, or the generator proves nothing.
  assert.ok(mapped > 100 && refused > 100, `mapped ${mapped}, refused ${refused}`)
})

test('a display or team name that is not a string reads as empty, even one shaped like an object', () => {
  const account = {
    account_id: 'dbid:1',
    email: 'a@example.com',
    root_info: { '.tag': 'user', root_namespace_id: '1', home_namespace_id: '1' },
  }
  const odd = JSON.parse('{"toString": 1, "valueOf": 2}')
  const mapped = toCloudAccount({
    ...account,
    name: { display_name: odd },
    team: { id: 't', name: odd },
  })
  assert.equal(mapped.displayName, '')
  assert.equal(mapped.team?.name, '')
})
