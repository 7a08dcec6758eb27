/**
 * The documentation stands on its own: every relative link in the README and `docs/` (and the
 * clients' READMEs) points at a file of the repository, every `#anchor` at a heading of it, and
 * no tracked file reaches outside the repository for the contract.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { test } from 'node:test'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const trackedFiles = execFileSync(
  'git',
  ['ls-files', '--cached', '--others', '--exclude-standard'],
  {
    cwd: ROOT,
    encoding: 'utf8',
  },
)
  .split('\n')
  .filter((file) => file !== '' && existsSync(join(ROOT, file)))
const markdownFiles = trackedFiles.filter(
  (file) => file.endsWith('.md') && (file === 'README.md' || /^(docs|clients)\//.test(file)),
)

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[`*_]/g, '')
    .replace(/[^\p{Letter}\p{Number} -]/gu, '')
    .replace(/ /g, '-')
}

function anchorsIn(markdown: string): Set<string> {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '')
  return new Set(
    [...withoutCode.matchAll(/^#{1,6} (.+)$/gm)].map((match) => anchorOf(match[1] ?? '')),
  )
}

function linksIn(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '')
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)].map((match) => match[1] ?? '')
}

test('the README and docs/ exist and the README is short', () => {
  assert.ok(markdownFiles.includes('README.md'))
  assert.ok(markdownFiles.includes('docs/contract.md'))
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8')
  assert.ok(readme.length <= 12_000, `README.md has ${readme.length} characters`)
})

test('every relative link in README.md, docs/ and clients/ resolves, anchors included', () => {
  const broken: string[] = []
  let checked = 0
  for (const file of markdownFiles) {
    const text = readFileSync(join(ROOT, file), 'utf8')
    for (const link of linksIn(text)) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(link)) continue // http:, https:, mailto:
      checked++
      const [path = '', anchor] = link.split('#', 2)
      const target = path === '' ? join(ROOT, file) : join(ROOT, dirname(file), path)
      if (!target.startsWith(ROOT) || !existsSync(target)) {
        broken.push(`${file}: ${link} (no such file)`)
        continue
      }
      if (anchor && statSync(target).isFile() && target.endsWith('.md')) {
        if (!anchorsIn(readFileSync(target, 'utf8')).has(anchor))
          broken.push(`${file}: ${link} (no heading #${anchor} in ${relative(ROOT, target)})`)
      }
    }
  }
  assert.deepEqual(broken, [])
  assert.ok(checked > 20, `only ${checked} links checked`)
})

test('no file of the repository reads or links ../shared', () => {
  const offenders = trackedFiles.filter((file) => {
    if (/\.(png|jpg|db|ico)$/.test(file) || file === 'package-lock.json') return false
    if (file === 'test/docs/links.test.ts') return false
    return /\.\.\/shared\b/.test(readFileSync(join(ROOT, file), 'utf8'))
  })
  assert.deepEqual(offenders, [])
})
