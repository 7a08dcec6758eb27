import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox'
import type { CloudAccount, CloudEntry, CloudListing } from '../../cloud/models.ts'
import type { CloudClientFactory } from '../../cloud/protocols.ts'
import { ServiceError } from '../../errors.ts'
import { IDENTITY_SECURITY } from '../plugins/docs.ts'
import { requireIdentity } from '../plugins/identity.ts'
import { AccountSchema, ListingSchema, ListQuerySchema } from '../schemas/cloud.ts'
import { IDENTIFIED, problemResponses, UPSTREAM } from '../schemas/problem.ts'

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

/**
 * The 200 body of `/v1/workspace/list`, serialized by `JSON.stringify` instead of the route's
 * fast-json-stringify function. On Node 24 (V8 13.6) that one builds a listing's ~100 KB out of
 * thousands of small concatenations and the socket write flattens them again: 4.8 M machine
 * instructions per 500 entries against 2.9 M (docs/performance.md). The views are the
 * allowlist, copying the schema's fields and nothing else, so both give the same bytes
 * (test/http/listing-serializer.test.ts); the schema still documents and tests the answer.
 */
export const serializeListing: (view: ReturnType<typeof listingView>) => string = JSON.stringify

export function listingView(listing: CloudListing) {
  return {
    path: listing.path,
    entries: listing.entries.map(entryView),
    cursor: listing.cursor,
    has_more: listing.hasMore,
  }
}

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
        response: { 200: AccountSchema, ...problemResponses(...IDENTIFIED, ...UPSTREAM) },
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
        response: {
          200: ListingSchema,
          ...problemResponses(
            ...IDENTIFIED,
            ...UPSTREAM,
            'invalid_path',
            'invalid_cursor',
            'path_not_found',
            'not_a_folder',
          ),
        },
      },
    },
    async (request, reply) => {
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
      // A reply serializer leaves the content type to the route (Fastify sets it for its own).
      reply.type('application/json; charset=utf-8').serializer(serializeListing)
      return listingView(listing)
    },
  )
}

export default cloud
