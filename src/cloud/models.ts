/** Provider-neutral shapes that cross the cloud boundary. */

export interface CloudAccount {
  provider: string
  accountId: string
  displayName: string
  email: string
  emailVerified: boolean
  country: string | null
  team: { id: string; name: string } | null
  root: {
    type: 'user' | 'team'
    rootNamespaceId: string
    homeNamespaceId: string
    homePath: string | null
  }
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
