import assert from 'node:assert/strict'
import { test } from 'node:test'
import { DropboxWorkspaceHandler } from '../../src/dropbox/workspace-handler.ts'
import { normalizeWorkspaceRoot } from '../../src/dropbox/workspace-paths.ts'
import { ServiceError } from '../../src/errors.ts'
import vectors from '../fixtures/workspace-vectors.json' with { type: 'json' }

test('to_dropbox: relative → Dropbox path, or invalid_path', () => {
  for (const vector of vectors.to_dropbox) {
    const handler = new DropboxWorkspaceHandler(vector.root)
    const label = `root=${JSON.stringify(vector.root)} input=${JSON.stringify(vector.input).slice(0, 60)}`
    if ('error' in vector) {
      assert.throws(
        () => handler.toDropboxPath(vector.input),
        (error: unknown) => error instanceof ServiceError && error.code === vector.error,
        label,
      )
    } else {
      assert.equal(handler.toDropboxPath(vector.input), vector.expect, label)
    }
  }
})

test('to_relative: Dropbox entry → relative path, or null outside the workspace', () => {
  for (const vector of vectors.to_relative) {
    const handler = new DropboxWorkspaceHandler(vector.root)
    assert.equal(
      handler.toRelativePath({ path_lower: vector.path_lower, path_display: vector.path_display }),
      vector.expect,
      `root=${vector.root} path_lower=${vector.path_lower}`,
    )
  }
})

test('workspace_root: normalisation at boot', () => {
  for (const vector of vectors.workspace_root) {
    if ('error' in vector) assert.throws(() => normalizeWorkspaceRoot(vector.input), vector.input)
    else assert.equal(normalizeWorkspaceRoot(vector.input), vector.expect)
  }
})

test('no caller input can produce an id:, rev: or ns: Dropbox path', () => {
  for (const root of ['', '/Office']) {
    const handler = new DropboxWorkspaceHandler(root)
    for (const input of ['id:abc', 'rev:0123456789', 'ns:1/x', '/id:x', '//ns:2', './rev:1']) {
      const path = handler.toDropboxPath(input)
      assert.ok(path.startsWith('/'), `${input} → ${path}`)
    }
  }
})
