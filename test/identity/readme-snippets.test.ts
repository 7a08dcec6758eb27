import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { test } from 'node:test'

// The docs' minting examples (docs/integration.md, by hand, without the clients) are these files,
// verbatim, so the tested code is the documented one.
const SNIPPETS = ['test/fixtures/mint_assertion.py', 'test/identity/mint-assertion-example.ts']
const readme = await readFile('docs/integration.md', 'utf8')
test('docs/integration.md shows the minting snippets the tests run', async () => {
  for (const path of SNIPPETS) {
    assert.ok(
      readme.includes(await readFile(path, 'utf8')),
      `${path} differs from docs/integration.md`,
    )
  }
})
