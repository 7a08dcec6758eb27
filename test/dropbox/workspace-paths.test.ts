import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { relativePathBySegments, toRelativePath } from '../../src/dropbox/workspace-paths.ts'

// Small alphabets so roots and paths collide often: shared prefixes, `/ws1` vs `/ws10`, case.
const segment = fc.stringMatching(/^[aAbB1.é ]{1,3}$/)
const canonical = fc
  .array(segment, { maxLength: 4 })
  .map((parts) => parts.map((p) => `/${p}`).join(''))
const anyPath = fc.stringMatching(/^[aAbB1/é. ]{0,10}$/)

test('the canonical fast path answers exactly as the segment-by-segment reading', () => {
  fc.assert(
    fc.property(canonical, canonical, canonical, (root, display, suffix) => {
      for (const [lower, shown] of [
        [display.toLowerCase(), display],
        [`${root.toLowerCase()}${suffix.toLowerCase()}`, `${root.toUpperCase()}${suffix}`],
      ] as const) {
        assert.equal(
          toRelativePath(root, lower, shown),
          relativePathBySegments(root, lower, shown),
          JSON.stringify({ root, lower, shown }),
        )
      }
    }),
    { numRuns: 5_000 },
  )
})

test('non-canonical inputs take the reference reading', () => {
  fc.assert(
    fc.property(anyPath, anyPath, anyPath, (root, lower, shown) => {
      assert.equal(toRelativePath(root, lower, shown), relativePathBySegments(root, lower, shown))
    }),
    { numRuns: 5_000 },
  )
})
