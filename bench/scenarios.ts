/**
 * The load scenarios of issue 9, as data. Each throughput row names its floor; a floor and the
 * row measured against it run back to back in every round, so both see the same machine.
 */

/** Which request stream a phase sends (the header is the only thing that differs). */
export type Traffic =
  /** One assertion per user, reused: the main app mints one per user and keeps it. */
  | 'steady'
  /** A never-seen assertion on every request, from a pre-minted pool. */
  | 'fresh'
  /** The listing user's reused assertion. */
  | 'listing'

export interface LoadScenario {
  id: string
  title: string
  target: 'reference' | 'connector'
  path: string
  traffic: Traffic
  /** The id of the floor this row is divided by; absent for a floor. */
  floor?: string
}

export const LOAD_SCENARIOS: LoadScenario[] = [
  {
    id: 'R0',
    title: 'bare floor: Fastify + undici pool, fixed token',
    target: 'reference',
    path: '/r0/me',
    traffic: 'steady',
  },
  {
    id: 'A',
    title: 'steady traffic: GET /v1/me over 1,000 users, assertions reused',
    target: 'connector',
    path: '/v1/me',
    traffic: 'steady',
    floor: 'R0',
  },
  {
    id: 'R1',
    title: 'mandatory floor: R0 + jose verification, no cache',
    target: 'reference',
    path: '/r1/me',
    traffic: 'fresh',
    floor: 'R0',
  },
  {
    id: 'B',
    title: 'fresh assertions: GET /v1/me, never-seen assertion per request',
    target: 'connector',
    path: '/v1/me',
    traffic: 'fresh',
    floor: 'R1',
  },
  {
    id: 'R0-list',
    title: 'bare floor: R0 forwarding list_folder of /Big (500 entries)',
    target: 'reference',
    path: '/r0/list',
    traffic: 'listing',
  },
  {
    id: 'C',
    title: 'listing: GET /v1/workspace/list?path=Big (500 entries, one page)',
    target: 'connector',
    path: '/v1/workspace/list?path=Big',
    traffic: 'listing',
    floor: 'R0-list',
  },
]

/**
 * Connector configurations a run measures; each gets its own process and its own A–D rows.
 * A PostgreSQL row is `{ name: 'postgres', env: { DATABASE_URL } }` (see run.ts).
 */
export interface ConnectorVariant {
  name: string
  env: Record<string, string>
}
