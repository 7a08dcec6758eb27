/** Provider-neutral shapes that cross the cloud boundary. */
import type { Readable } from 'node:stream'

export type Provider = 'dropbox'

/** Where the account's paths are rooted (contract §4 path root). */
export interface RootInfo {
  type: 'user' | 'team'
  rootNamespaceId: string
  homeNamespaceId: string
  homePath: string | null
}

export interface TokenSet {
  accessToken: string
  accessTokenExpiresAt: Date
  refreshToken: string
}

export interface CloudAccount {
  provider: string
  accountId: string
  displayName: string
  email: string
  emailVerified: boolean
  country: string | null
  team: { id: string; name: string } | null
  root: RootInfo
}

export interface CloudEntry {
  type: 'file' | 'folder'
  id: string
  name: string
  /** Relative to the workspace root (contract §4); `""` is the root itself. */
  path: string
  size?: number
  modifiedAt?: string
  rev?: string
  contentHash?: string
}

export interface CloudListing {
  /** The listed folder, relative; for a continuation, the folder of the first page is unknown: `null`. */
  path: string | null
  entries: CloudEntry[]
  cursor: string
  hasMore: boolean
}

export interface ListFolderRequest {
  /** Relative path inside the workspace. */
  path: string
  recursive: boolean
  limit?: number
}

export interface DownloadRequest {
  /** Relative path inside the workspace. */
  path: string
  /** A `Range` header (`bytes=0-99`, `bytes=-100`), passed to the provider as given. */
  range?: string
  /** The caller went away: abort the upstream request, whatever stage it is at. */
  signal?: AbortSignal
}

/** An answered download: the head is known, the body not yet read. */
export interface CloudDownload {
  entry: CloudEntry & { type: 'file' }
  /** 206 when the provider honoured a range. */
  status: 200 | 206
  /** Bytes in `body`; null when the provider did not say. */
  contentLength: number | null
  /** The provider's `Content-Range` on a 206. */
  contentRange: string | null
  /** Unread; destroying it aborts the upstream request. */
  body: Readable
}
