/**
 * `/v1/workspace/list` answers through `JSON.stringify` (src/http/routes/cloud.ts): the bytes
 * must be those the route's schema serializer gives, for any listing the mapper can produce,
 * and the answer must still be JSON with Fastify's content type.
 */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import SerializerSelector from '@fastify/fast-json-stringify-compiler'
import { ACCOUNT_IDS } from '../../emulator/index.ts'
import type { CloudEntry, CloudListing } from '../../src/cloud/models.ts'
import { listingView, serializeListing } from '../../src/http/routes/cloud.ts'
import { EntrySchema, ListingSchema } from '../../src/http/schemas/cloud.ts'
import { seededRandom } from '../seeded-random.ts'
import { startStack } from '../stack.ts'

const schemaSerializer = SerializerSelector()({ Entry: EntrySchema }, {})({
  schema: ListingSchema,
  method: 'GET',
  url: '/v1/workspace/list',
  httpStatus: '200',
})

// Every kind of character a name can hold, the JSON-escaped ones included, at lengths on both
// sides of fast-json-stringify's own thresholds (42 and 5,000 characters).
const PIECES = [
  'a',
  'Z9',
  ' ',
  '"',
  '\\',
  '/',
  '\n',
  '\t',
  '\u0000',
  '\u001f',
  '\u007f',
  'é',
  'ß',
  '€',
  '\u2028',
  '😀',
  '\ud800',
  '\udfff',
  '%20',
  '<script>',
]

function randomText(next: () => number): string {
  const length = [0, 1, 7, 8, 41, 42, 43, 200, 5_001][Math.floor(next() * 9)] as number
  let text = ''
  while (text.length < length) text += PIECES[Math.floor(next() * PIECES.length)]
  return text
}

function randomEntry(next: () => number): CloudEntry {
  const base = { id: `id:${randomText(next)}`, name: randomText(next), path: randomText(next) }
  if (next() < 0.3) return { type: 'folder', ...base }
  const maybe = () => (next() < 0.2 ? undefined : randomText(next))
  return {
    type: 'file',
    ...base,
    size: [0, 1, 2 ** 31, Number.MAX_SAFE_INTEGER, Math.floor(next() * 1e12)][
      Math.floor(next() * 5)
    ] as number,
    modifiedAt: next() < 0.2 ? undefined : '2026-12-03T08:00:00Z',
    rev: maybe(),
    contentHash: maybe(),
  }
}

test('the listing serializes to the bytes of its schema serializer', () => {
  const next = seededRandom(7)
  for (let i = 0; i < 300; i++) {
    const listing: CloudListing = {
      path: next() < 0.2 ? null : randomText(next),
      entries: Array.from({ length: Math.floor(next() * 20) }, () => randomEntry(next)),
      cursor: randomText(next) || 'c',
      hasMore: next() < 0.5,
    }
    const view = listingView(listing)
    assert.equal(serializeListing(view), schemaSerializer(view), `listing ${i}`)
  }
})

test('GET /v1/workspace/list answers JSON with its content type, names escaped', async (t) => {
  const stack = await startStack(t)
  assert.equal((await stack.connect('user-1', ACCOUNT_IDS.alice)).status, 200)
  const name = 'Grüße "q"; x\\y\t€ 😀.txt'
  stack.emulator.addFiles(ACCOUNT_IDS.alice, [{ path: `/Docs/${name}`, type: 'file', size: 33 }])
  const response = await stack.api('user-1', 'GET', '/v1/workspace/list?path=Docs')
  assert.equal(response.status, 200)
  assert.equal(response.headers.get('content-type'), 'application/json; charset=utf-8')
  const body = await response.text()
  const listing = JSON.parse(body) as { entries: Array<{ name: string; size?: number }> }
  const entry = listing.entries.find((e) => e.name === name)
  assert.deepEqual(entry && { name: entry.name, size: entry.size }, { name, size: 33 })
  assert.equal(body, schemaSerializer(listing))
})
