/** Everything the emulator knows, in one place the handlers and the control API share. */
import { randomBytes } from 'node:crypto'
import { AccountStore } from './accounts.ts'
import { AppRegistry } from './apps.ts'
import { Clock } from './clock.ts'
import { Counters } from './counters.ts'
import { FaultQueue } from './faults.ts'
import { FileTree } from './file-tree.ts'
import { TokenStore } from './tokens.ts'

export interface PendingConsent {
  appKey: string
  redirectUri: string | null
  state: string | null
  codeChallenge: string | null
  accessType: 'offline' | 'online'
  scopes: string[]
  expiresAt: number
}

export interface EmulatorState {
  readonly clock: Clock
  readonly tree: FileTree
  readonly accounts: AccountStore
  readonly apps: AppRegistry
  readonly tokens: TokenStore
  readonly counters: Counters
  readonly faults: FaultQueue
  /** Signs cursors, so a tampered one is refused rather than misread. */
  readonly cursorKey: Buffer
  readonly pendingConsents: Map<string, PendingConsent>
  /** Browser sign-ins (the `emu_signin` cookie → account id), set by an allowed consent. */
  readonly signIns: Map<string, string>
  /** `${appKey} ${accountId}` → the scopes that account approved for that app. */
  readonly approvals: Map<string, Set<string>>
}

export function createState(accessTokenTtlSeconds: number): EmulatorState {
  const clock = new Clock()
  const tree = new FileTree(clock)
  return {
    clock,
    tree,
    accounts: new AccountStore(tree),
    apps: new AppRegistry(),
    tokens: new TokenStore(clock, accessTokenTtlSeconds),
    counters: new Counters(),
    faults: new FaultQueue(),
    cursorKey: randomBytes(32),
    pendingConsents: new Map(),
    signIns: new Map(),
    approvals: new Map(),
  }
}
