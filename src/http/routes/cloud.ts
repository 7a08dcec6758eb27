import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { CloudAccount, CloudEntry, CloudListing } from '../../cloud/models.ts'
import type { CloudClientFactory } from '../../cloud/protocols.ts'
import { ServiceError } from '../../errors.ts'
import { IDENTITY_SECURITY } from '../plugins/docs.ts'
import { requireIdentity } from '../plugins/identity.ts'
import { AccountSchema, ListingSchema, ListQuerySchema } from '../schemas/cloud.ts'
import { problemResponses } from '../schemas/problem.ts'

function accountView(account: CloudAccount) {
  return {
    provider: 'dropbox' as const,
    account_id: account.accountId,
    display_name: account.displayName,
    email: account.email,
    email_verified: account.emailVerified,
    country: account.country,
    team: account.team,
    root: {
      type: account.root.type,
      root_namespace_id: account.root.rootNamespaceId,
      home_namespace_id: account.root.homeNamespaceId,
      home_path: account.root.homePath,
    },
  }
}

export function entryView(entry: CloudEntry) {
  const base = { type: entry.type, id: entry.id, name: entry.name, path: entry.path }
  if (entry.type === 'folder') return base
  return {
    ...base,
    size: entry.size,
    modified_at: entry.modifiedAt,
    rev: entry.rev,
    content_hash: entry.contentHash,
  }
}

function listingView(listing: CloudListing) {
  return {
    path: listing.path,
    entries: listing.entries.map(entryView),
    cursor: listing.cursor,
    has_more: listing.hasMore,
  }
}

const UPSTREAM_PROBLEMS = problemResponses(400, 401, 404, 409, 429, 500, 502, 503, 504)

const cloud: FastifyPluginAsyncTypebox<{ clients: CloudClientFactory }> = async (
  app,
  { clients },
) => {
  app.get(
    '/me',
    {
      config: { operation: 'me' },
      schema: {
        tags: ['cloud'],
        summary: 'The connected Dropbox account.',
        security: IDENTITY_SECURITY,
        response: { 200: AccountSchema, ...UPSTREAM_PROBLEMS },
      },
    },
    async (request) =>
      accountView(
        await (await clients.forUser(requireIdentity(request).userId)).getCurrentAccount(),
      ),
  )

  app.get(
    '/workspace/list',
    {
      config: { operation: 'workspace.read' },
      schema: {
        tags: ['cloud'],
        summary: 'List a folder of the workspace (or continue a listing with `cursor`).',
        description:
          "Paths are relative to the deployment's workspace root; `path` and `cursor` are exclusive.",
        security: IDENTITY_SECURITY,
        querystring: ListQuerySchema,
        response: { 200: ListingSchema, ...UPSTREAM_PROBLEMS },
      },
    },
    async (request) => {
      const { path, cursor, limit, recursive } = request.query
      if (path !== undefined && cursor !== undefined) {
        throw new ServiceError(
          'invalid_request',
          'querystring: give either path or cursor, not both',
        )
      }
      // Ajv's `integer` admits `Infinity` ("Infinity", "1e309") and skips minimum/maximum on
      // non-finite numbers; Dropbox would receive `"limit": null`.
      if (limit !== undefined && !Number.isSafeInteger(limit)) {
        throw new ServiceError(
          'invalid_request',
          'querystring.limit: must be an integer from 1 to 2000',
        )
      }
      const client = await clients.forUser(requireIdentity(request).userId)
      const listing = cursor
        ? await client.listFolderContinue(cursor)
        : await client.listFolder({ path: path ?? '', recursive: recursive ?? false, limit })
      return listingView(listing)
    },
  )
}

export default cloud
