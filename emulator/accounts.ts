/** Accounts, their namespaces, and the `users/get_current_account` body (users.stone `FullAccount`). */
import { type FileTree, type NamespaceTree, TreeError } from './file-tree.ts'
import { sha256Base64Url, stableHash, teamIdFor, teamMemberIdFor } from './ids.ts'
import type { AccountSpec, FileSpec, Namespace, TeamSpec } from './types.ts'

export interface Account {
  readonly accountId: string
  readonly uid: string
  readonly email: string
  readonly displayName: string
  readonly homeNs: NamespaceTree
  rootNs: NamespaceTree
  team: Required<Omit<TeamSpec, 'rootNamespaceId'>> | null
  /** Bumped to invalidate every cursor (`409 reset`). */
  cursorEpoch: number
  /** The full answer of `get_current_account`, serialised once: it is on the benchmark's hot path. */
  currentAccountJson: string
  rootInfo: RootInfo
  readonly spec: AccountSpec
}

export interface RootInfo {
  '.tag': 'user' | 'team'
  root_namespace_id: string
  home_namespace_id: string
  home_path?: string
}

/** users_common.stone `AccountId`: exactly 40 characters; the SDKs that validate reject others. */
const ACCOUNT_ID = /^dbid:[-_0-9a-zA-Z]{35}$/
const NAMESPACE_ID = /^[0-9]+$/

export class AccountStore {
  readonly #accounts = new Map<string, Account>()
  readonly #tree: FileTree

  constructor(tree: FileTree) {
    this.#tree = tree
  }

  get(accountId: string): Account | undefined {
    return this.#accounts.get(accountId)
  }

  require(accountId: string): Account {
    const account = this.#accounts.get(accountId)
    if (account === undefined) throw new TreeError(`no account ${JSON.stringify(accountId)}`)
    return account
  }

  list(): Account[] {
    return [...this.#accounts.values()]
  }

  seed(spec: AccountSpec): Account {
    if (!ACCOUNT_ID.test(spec.accountId)) {
      throw new TreeError(
        `accountId must be dbid: and 35 characters (see accountIdFor): ${JSON.stringify(spec.accountId)}`,
      )
    }
    if (this.#accounts.has(spec.accountId))
      throw new TreeError(`account ${spec.accountId} already exists`)
    if (!NAMESPACE_ID.test(spec.homeNamespaceId))
      throw new TreeError('homeNamespaceId must be digits')
    if (spec.team !== undefined) this.#checkJoinable(spec.team)
    const homeNs = this.#tree.createNamespace(spec.homeNamespaceId)
    const account: Account = {
      accountId: spec.accountId,
      uid:
        spec.uid ??
        String(100_000_000 + (stableHash(spec.accountId).readUInt32BE(0) % 900_000_000)),
      email: spec.email,
      displayName: spec.displayName ?? `${spec.givenName} ${spec.surname}`,
      homeNs,
      rootNs: homeNs,
      team: null,
      cursorEpoch: 0,
      currentAccountJson: '',
      rootInfo: { '.tag': 'user', root_namespace_id: homeNs.id, home_namespace_id: homeNs.id },
      spec,
    }
    if (spec.team !== undefined) this.#joinTeam(account, spec.team)
    this.#refresh(account)
    this.#accounts.set(account.accountId, account)
    this.addFiles(account.accountId, spec.files ?? [])
    return account
  }

  addFiles(accountId: string, files: FileSpec[]): void {
    const account = this.require(accountId)
    for (const file of files) {
      this.#tree.put(this.#namespace(account, file.namespace), file.path, file)
    }
  }

  deleteFile(accountId: string, path: string, namespace?: Namespace): void {
    const account = this.require(accountId)
    this.#tree.remove(this.#namespace(account, namespace), path)
  }

  /** Joining a team space moves the root: the old root id now answers `422 invalid_root`. */
  migrateToTeam(accountId: string, team: Partial<TeamSpec> = {}): void {
    const account = this.require(accountId)
    if (account.team !== null) throw new TreeError(`${accountId} is already in a team space`)
    const fallbackRoot = String(Number(account.homeNs.id) - 1)
    const spec: TeamSpec = {
      id: team.id ?? teamIdFor(accountId),
      name: team.name ?? `${account.displayName} Team`,
      rootNamespaceId:
        team.rootNamespaceId ??
        (this.#tree.namespaces.has(fallbackRoot) ? `${account.homeNs.id}0` : fallbackRoot),
      homePath: team.homePath ?? `/${account.displayName}`,
      ...(team.teamMemberId === undefined ? {} : { teamMemberId: team.teamMemberId }),
    }
    this.#checkJoinable(spec)
    this.#joinTeam(account, spec)
    account.cursorEpoch++
    this.#refresh(account)
  }

  resetCursors(accountId: string): void {
    this.require(accountId).cursorEpoch++
  }

  /** A team root may be shared by the team's members, and by nobody else. */
  #checkJoinable(team: TeamSpec): void {
    checkTeam(team)
    const root = this.#tree.namespaces.get(team.rootNamespaceId)
    if (root === undefined) return
    const owner = this.list().find((other) => other.rootNs === root)
    if (owner?.team?.id !== team.id) {
      throw new TreeError(`namespace ${team.rootNamespaceId} is not the root of team ${team.id}`)
    }
  }

  #joinTeam(account: Account, team: TeamSpec): void {
    const root =
      this.#tree.namespaces.get(team.rootNamespaceId) ??
      this.#tree.createNamespace(team.rootNamespaceId)
    this.#tree.mount(root, team.homePath, account.homeNs, account.accountId)
    account.rootNs = root
    account.team = {
      id: team.id,
      name: team.name,
      homePath: team.homePath,
      teamMemberId: team.teamMemberId ?? teamMemberIdFor(account.accountId),
    }
  }

  #namespace(account: Account, namespace: Namespace | undefined): NamespaceTree {
    if (namespace === undefined || namespace === 'home') return account.homeNs
    if (namespace === 'root') return account.rootNs
    throw new TreeError(`namespace must be "home" or "root", not ${JSON.stringify(namespace)}`)
  }

  #refresh(account: Account): void {
    account.rootInfo =
      account.team === null
        ? {
            '.tag': 'user',
            root_namespace_id: account.rootNs.id,
            home_namespace_id: account.homeNs.id,
          }
        : {
            '.tag': 'team',
            root_namespace_id: account.rootNs.id,
            home_namespace_id: account.homeNs.id,
            home_path: account.team.homePath,
          }
    account.currentAccountJson = JSON.stringify(fullAccount(account))
  }
}

function checkTeam(team: TeamSpec): void {
  if (!NAMESPACE_ID.test(team.rootNamespaceId))
    throw new TreeError('team.rootNamespaceId must be digits')
  if (!/^\/[^/]+$/.test(team.homePath))
    throw new TreeError('team.homePath must be one folder, like "/Carol Team"')
}

/** Field order as Dropbox serialises it (users.stone `FullAccount`). */
function fullAccount(account: Account): Record<string, unknown> {
  const { spec, team } = account
  const body: Record<string, unknown> = {
    account_id: account.accountId,
    name: {
      given_name: spec.givenName,
      surname: spec.surname,
      familiar_name: spec.givenName,
      display_name: account.displayName,
      abbreviated_name: `${spec.givenName.charAt(0)}${spec.surname.charAt(0)}`.toUpperCase(),
    },
    email: spec.email,
    email_verified: spec.emailVerified ?? true,
    disabled: false,
  }
  if (spec.country !== null) body.country = spec.country ?? 'US'
  body.locale = spec.locale ?? 'en'
  body.referral_link = `https://www.dropbox.com/referrals/${sha256Base64Url(`ref/${account.accountId}`).slice(0, 24)}?src=global9`
  if (team !== null) {
    body.team = {
      id: team.id,
      name: team.name,
      sharing_policies: {
        shared_folder_member_policy: { '.tag': 'anyone' },
        shared_folder_join_policy: { '.tag': 'from_anyone' },
        shared_link_create_policy: { '.tag': 'default_public' },
        group_creation_policy: { '.tag': 'admins_only' },
        shared_folder_link_restriction_policy: { '.tag': 'anyone' },
        enforce_link_password_policy: { '.tag': 'optional' },
        default_link_expiration_days_policy: { '.tag': 'none' },
        shared_link_default_permissions_policy: { '.tag': 'default' },
      },
      office_addin_policy: { '.tag': 'disabled' },
      top_level_content_policy: { '.tag': 'admin_only' },
    }
    body.team_member_id = team.teamMemberId
  }
  body.is_paired = false
  body.account_type = { '.tag': team === null ? 'basic' : 'business' }
  body.root_info = account.rootInfo
  return body
}
