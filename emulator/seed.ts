/** The standard accounts every test can rely on (see the README section). */
import { accountIdFor, teamIdFor, teamMemberIdFor } from './ids.ts'
import type { AccountSpec, FileSpec } from './types.ts'

/** The standard accounts' ids (40 characters, as Dropbox's): use these, never a literal. */
export const ACCOUNT_IDS = {
  alice: accountIdFor('alice'),
  bob: accountIdFor('bob'),
  carol: accountIdFor('carol'),
  dave: accountIdFor('dave'),
} as const

/** Carol's team: its id and her member id. */
export const EXAMPLE_TEAM = {
  id: teamIdFor('example-team'),
  carolMemberId: teamMemberIdFor('carol'),
} as const

const MODIFIED = '2024-03-01T09:30:00Z'

function files(paths: Array<[string, 'file' | 'folder', number?]>, namespace?: 'root'): FileSpec[] {
  return paths.map(([path, type, size]) => ({
    path,
    type,
    ...(size === undefined ? {} : { size }),
    ...(namespace === undefined ? {} : { namespace }),
    clientModified: MODIFIED,
    serverModified: MODIFIED,
  }))
}

const bigFolder: FileSpec[] = Array.from({ length: 500 }, (_, i) => ({
  path: `/Big/file-${String(i).padStart(3, '0')}.txt`,
  type: 'file',
  size: 100 + i,
  clientModified: MODIFIED,
  serverModified: MODIFIED,
}))

export const STANDARD_ACCOUNTS: AccountSpec[] = [
  {
    accountId: ACCOUNT_IDS.alice,
    email: 'alice@example.com',
    givenName: 'Alice',
    surname: 'Example',
    country: 'US',
    uid: '1001001',
    homeNamespaceId: '1001',
    files: [
      ...files([
        ['/Office', 'folder'],
        ['/Office/Reports', 'folder'],
        ['/Office/Reports/Q1.pdf', 'file', 248_113],
        ['/Office/notes.txt', 'file', 512],
        ['/Office10/x.txt', 'file', 3],
        ['/Photos/beach.jpg', 'file', 2_097_152],
        ['/Big', 'folder'],
      ]),
      ...bigFolder,
    ],
  },
  {
    accountId: ACCOUNT_IDS.bob,
    email: 'bob@example.com',
    givenName: 'Bob',
    surname: 'Example',
    country: 'US',
    uid: '2002002',
    homeNamespaceId: '2001',
    files: files([
      ['/Office/bob.txt', 'file', 42],
      ['/Readme.md', 'file', 1200],
    ]),
  },
  {
    accountId: ACCOUNT_IDS.carol,
    email: 'carol@example.com',
    givenName: 'Carol',
    surname: 'Example',
    country: 'DE',
    locale: 'de',
    uid: '3003003',
    homeNamespaceId: '3001',
    team: {
      id: EXAMPLE_TEAM.id,
      name: 'Example Team',
      rootNamespaceId: '3000',
      homePath: '/Carol Team',
      teamMemberId: EXAMPLE_TEAM.carolMemberId,
    },
    files: [
      ...files([['/Office/carol.txt', 'file', 77]]),
      ...files([['/Team Projects/Plan.docx', 'file', 18_000]], 'root'),
    ],
  },
  {
    accountId: ACCOUNT_IDS.dave,
    email: 'dave@example.com',
    givenName: 'Dave',
    surname: 'Example',
    country: 'GB',
    locale: 'en-GB',
    uid: '4004004',
    homeNamespaceId: '4001',
    files: files([
      ['/Office/dave.txt', 'file', 10],
      ['/Notes.md', 'file', 20],
    ]),
  },
]
