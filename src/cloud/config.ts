/** The provider configuration, cut from the validated environment (successor of cloud/config). */
import type { Config } from '../config.ts'

export interface CloudConfig {
  provider: 'dropbox'
  dropbox: Config['dropbox']
  workspaceRoot: string
  upstreamTimeoutMs: number
  /** Cap on a buffered upstream JSON answer (contract §6); downloads stream and ignore it. */
  upstreamMaxResponseBytes?: number
}

export function cloudConfigFrom(config: Config): CloudConfig {
  return {
    provider: config.cloudProvider,
    dropbox: config.dropbox,
    workspaceRoot: config.workspaceRoot,
    upstreamTimeoutMs: config.upstreamTimeoutMs,
    upstreamMaxResponseBytes: config.upstreamMaxResponseBytes,
  }
}
