/**
 * Dropbox's error answers → the service's errors. Branches on `.tag`, never on
 * `error_summary` text (its trailing dots vary). Raw SDK errors never leave this module:
 * they carry response headers.
 */
import { DropboxResponseError } from 'dropbox'
import {
  CloudError,
  ReconnectRequiredError,
  upstreamMalformed,
  upstreamTimeout,
  upstreamUnavailable,
} from '../cloud/errors.ts'
import type { RootInfo } from '../cloud/models.ts'
import type { UpstreamOutcome } from '../observability/metrics.ts'
import { parseRootInfo } from './root-info.ts'

/** The access token was refused (expired or invalid): refresh once, then retry. */
export class AccessTokenRejected extends Error {
  override name = 'AccessTokenRejected'
}

/** 422 `invalid_root`: the account's root moved (joined or left a team). */
export class PathRootChanged extends Error {
  override name = 'PathRootChanged'
  readonly rootInfo: RootInfo
  constructor(rootInfo: RootInfo) {
    super('the account root changed')
    this.rootInfo = rootInfo
  }
}

type Tagged = { '.tag'?: string; [key: string]: unknown }

function tagOf(value: unknown): string | undefined {
  return typeof value === 'object' && value !== null
    ? ((value as Tagged)['.tag'] as string | undefined)
    : undefined
}

function retryAfterSeconds(error: DropboxResponseError<unknown>): number {
  const header = Number(
    (error.headers as { get?: (name: string) => string | null })?.get?.('retry-after'),
  )
  if (Number.isFinite(header) && header >= 0) return header
  const body = (error.error as { error?: { retry_after?: unknown } } | undefined)?.error
    ?.retry_after
  return typeof body === 'number' && body >= 0 ? body : 1
}

/** What a 409 route error means for a caller; `operation` tells list from continue. */
function routeError(operation: string, envelope: Tagged | undefined): CloudError {
  const error = envelope?.error as Tagged | undefined
  const tag = tagOf(error)
  if (tag === 'reset')
    return new CloudError('invalid_cursor', 'The cursor is no longer valid: list the folder again.')
  if (tag === 'path') {
    const pathTag = tagOf(error?.path)
    if (pathTag === 'not_found')
      return new CloudError('path_not_found', 'No file or folder at this path.')
    if (pathTag === 'not_folder')
      return new CloudError('not_a_folder', 'The path is a file, not a folder.')
    if (pathTag === 'not_file')
      return new CloudError('not_a_file', 'The path is a folder, not a file.')
    if (pathTag === 'malformed_path')
      return new CloudError('invalid_path', 'Dropbox refused the path as malformed.')
  }
  return new CloudError('upstream_error', `Dropbox refused ${operation}.`)
}

export interface TranslatedError {
  error: Error
  outcome: UpstreamOutcome
}

export function translateDropboxError(
  raw: unknown,
  operation: string,
  deadline: { readonly aborted: boolean },
): TranslatedError {
  if (deadline.aborted) return { error: upstreamTimeout(), outcome: 'timeout' }
  // Already ours (a mapper refused the answer, or a download's range was refused).
  if (raw instanceof CloudError) {
    return { error: raw, outcome: raw.code === 'upstream_error' ? 'malformed' : 'client_error' }
  }
  if (raw instanceof DropboxResponseError) {
    const status = raw.status
    const envelope =
      typeof raw.error === 'object' && raw.error !== null ? (raw.error as Tagged) : undefined
    if (status === 401) {
      const error = envelope?.error as Tagged | undefined
      if (tagOf(error) === 'missing_scope') {
        const scope = typeof error?.required_scope === 'string' ? error.required_scope : 'unknown'
        return {
          error: ReconnectRequiredError.for({ reason: 'missing_scope', missingScope: scope }),
          outcome: 'auth_error',
        }
      }
      if (tagOf(error) === 'expired_access_token' || tagOf(error) === 'invalid_access_token') {
        return { error: new AccessTokenRejected(), outcome: 'auth_error' }
      }
      return { error: new ReconnectRequiredError(), outcome: 'auth_error' }
    }
    if (status === 409) return { error: routeError(operation, envelope), outcome: 'client_error' }
    if (status === 422) {
      const rootInfo = parseRootInfo((envelope?.error as Tagged | undefined)?.invalid_root)
      if (rootInfo) return { error: new PathRootChanged(rootInfo), outcome: 'client_error' }
      return { error: upstreamMalformed(operation), outcome: 'malformed' }
    }
    if (status === 429) {
      return {
        error: new CloudError('upstream_rate_limited', 'Dropbox asks to slow down; retry later.', {
          retryAfterSeconds: retryAfterSeconds(raw),
        }),
        outcome: 'rate_limited',
      }
    }
    if (status >= 500) return { error: upstreamUnavailable(), outcome: 'server_error' }
    if (status === 400 && operation === 'files/list_folder/continue') {
      return {
        error: new CloudError('invalid_cursor', 'Dropbox rejected the cursor.'),
        outcome: 'client_error',
      }
    }
    return {
      error: new CloudError('upstream_error', `Dropbox refused ${operation}.`),
      outcome: 'client_error',
    }
  }
  if (raw instanceof SyntaxError)
    return { error: upstreamMalformed(operation), outcome: 'malformed' }
  // fetch's network failures (refused, reset, DNS) are TypeErrors with a cause.
  return { error: upstreamUnavailable(), outcome: 'network_error' }
}
