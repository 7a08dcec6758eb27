import assert from 'node:assert/strict'
import { test } from 'node:test'
import { CloudError } from '../../src/cloud/errors.ts'
import { toCloudListing } from '../../src/dropbox/mappers.ts'
import { DropboxWorkspaceHandler } from '../../src/dropbox/workspace-handler.ts'

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
