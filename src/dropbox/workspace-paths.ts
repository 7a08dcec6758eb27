/**
 * The legacy workspace path rules (contract §4), pure and provider-local: callers speak
 * relative paths, only this module speaks Dropbox paths.
 */
import { ServiceError } from '../errors.ts'

const MAX_RELATIVE_PATH_LENGTH = 1024
// U+0000–U+001F and U+007F (contract §4 step 1): matching them is the point here.
// biome-ignore lint/suspicious/noControlCharactersInRegex: the rule rejects exactly these
const CONTROL_CHARACTER = /[\u0000-\u001f\u007f]/

export class PathRuleError extends Error {
  override name = 'PathRuleError'
}

/** Splits on `/` only, drops empty and `.` segments, refuses `..` and control characters. */
function toSegments(input: string): string[] {
  if (input.length > MAX_RELATIVE_PATH_LENGTH) {
    throw new PathRuleError(`path is longer than ${MAX_RELATIVE_PATH_LENGTH} characters`)
  }
  if (CONTROL_CHARACTER.test(input)) throw new PathRuleError('path contains a control character')
  const segments = input.split('/').filter((segment) => segment !== '' && segment !== '.')
  if (segments.includes('..')) throw new PathRuleError('path contains a ".." segment')
  return segments
}

/** `WORKSPACE_ROOT` at boot: `"Office/"` → `/Office`, `""` and `"/"` → `""`. Throws PathRuleError. */
export function normalizeWorkspaceRoot(input: string): string {
  const segments = toSegments(input)
  return segments.length === 0 ? '' : `/${segments.join('/')}`
}

/** A caller's relative path → the Dropbox path inside the workspace root. */
export function toDropboxPath(root: string, relative: string): string {
  let segments: string[]
  try {
    segments = toSegments(relative)
  } catch (error) {
    if (error instanceof PathRuleError)
      throw new ServiceError('invalid_path', `Invalid path: ${error.message}.`)
    throw error
  }
  return segments.length === 0 ? root : `${root}/${segments.join('/')}`
}

function splitDropboxPath(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '')
}

/**
 * A Dropbox entry → its path relative to the workspace root, or `null` when it lies outside.
 * Membership is decided on `path_lower` segment by segment (so `/ws1` never matches `/ws10`);
 * the returned text keeps `path_display`'s case, whose parent segments may be wrong.
 */
export function toRelativePath(
  root: string,
  pathLower: string,
  pathDisplay: string,
): string | null {
  // Dropbox's own paths are canonical (`/a/b`); a listing maps hundreds of them per call, so
  // those take a scan without arrays. Anything else gets the segment-by-segment reading.
  if (isCanonical(pathLower) && isCanonical(pathDisplay) && (root === '' || isCanonical(root))) {
    return canonicalRelativePath(root.toLowerCase(), pathLower, pathDisplay)
  }
  return relativePathBySegments(root, pathLower, pathDisplay)
}

function isCanonical(path: string): boolean {
  return path.startsWith('/') && !path.endsWith('/') && !path.includes('//')
}

function canonicalRelativePath(rootLower: string, pathLower: string, pathDisplay: string) {
  if (rootLower !== '') {
    if (!pathLower.startsWith(rootLower)) return null
    if (pathLower.length > rootLower.length && pathLower[rootLower.length] !== '/') return null
  }
  // Skip as many segments of path_display as the root has, whatever their case.
  let cut = 0
  for (let skipped = 0; skipped <= countSlashes(rootLower); skipped++) {
    const next = pathDisplay.indexOf('/', cut)
    if (next === -1) return ''
    cut = next + 1
  }
  return pathDisplay.slice(cut)
}

function countSlashes(path: string): number {
  let count = 0
  for (let i = path.indexOf('/'); i !== -1; i = path.indexOf('/', i + 1)) count++
  return count
}

/** The reference reading of contract §4, for any input. */
export function relativePathBySegments(
  root: string,
  pathLower: string,
  pathDisplay: string,
): string | null {
  const rootSegments = splitDropboxPath(root.toLowerCase())
  const lowerSegments = splitDropboxPath(pathLower)
  if (lowerSegments.length < rootSegments.length) return null
  for (let i = 0; i < rootSegments.length; i++) {
    if (lowerSegments[i] !== rootSegments[i]) return null
  }
  return splitDropboxPath(pathDisplay).slice(rootSegments.length).join('/')
}
