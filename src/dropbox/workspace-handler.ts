/**
 * One workspace folder per deployment; callers speak relative
 * paths, Dropbox speaks absolute ones (contract §4, `workspace-vectors.json`).
 */
import { toDropboxPath, toRelativePath } from './workspace-paths.ts'

export class DropboxWorkspaceHandler {
  /** Normalised at boot: `""` (the Dropbox root) or `/a/b`. */
  readonly root: string

  constructor(root: string) {
    this.root = root
  }

  /** Throws `invalid_path` before anything reaches Dropbox. */
  toDropboxPath(relative: string): string {
    return toDropboxPath(this.root, relative)
  }

  /** `null` for entries outside the workspace: they are never returned. */
  toRelativePath(entry: { path_lower?: string; path_display?: string }): string | null {
    if (typeof entry.path_lower !== 'string' || typeof entry.path_display !== 'string') return null
    return toRelativePath(this.root, entry.path_lower, entry.path_display)
  }
}
