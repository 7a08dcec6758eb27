import { Type } from 'typebox'

export const AccountSchema = Type.Object({
  provider: Type.Literal('dropbox'),
  account_id: Type.String(),
  display_name: Type.String(),
  email: Type.String(),
  email_verified: Type.Boolean(),
  country: Type.Union([Type.String(), Type.Null()]),
  team: Type.Union([Type.Object({ id: Type.String(), name: Type.String() }), Type.Null()]),
  root: Type.Object({
    type: Type.Union([Type.Literal('user'), Type.Literal('team')]),
    root_namespace_id: Type.String(),
    home_namespace_id: Type.String(),
    home_path: Type.Union([Type.String(), Type.Null()]),
  }),
})

export const EntrySchema = Type.Object(
  {
    type: Type.Union([Type.Literal('file'), Type.Literal('folder')]),
    id: Type.String(),
    name: Type.String(),
    path: Type.String({ description: 'Relative to the workspace root; "" is the root itself.' }),
    size: Type.Optional(Type.Integer({ description: 'Files only.' })),
    modified_at: Type.Optional(Type.String({ format: 'date-time', description: 'Files only.' })),
    rev: Type.Optional(Type.String({ description: 'Files only.' })),
    content_hash: Type.Optional(Type.String({ description: 'Files only.' })),
  },
  { $id: 'Entry' },
)

export const ListingSchema = Type.Object({
  path: Type.Union([Type.String(), Type.Null()], {
    description: 'The listed folder, relative; null on a page fetched with a cursor.',
  }),
  entries: Type.Array(Type.Ref('Entry')),
  cursor: Type.String({ description: 'Pass back as `cursor` for the next page or for changes.' }),
  has_more: Type.Boolean(),
})

export const ListQuerySchema = Type.Object({
  path: Type.Optional(
    Type.String({
      maxLength: 4096,
      description: 'Folder relative to the workspace root (default: the root).',
    }),
  ),
  cursor: Type.Optional(
    Type.String({ minLength: 1, maxLength: 8192, description: 'Continue a listing.' }),
  ),
  limit: Type.Optional(
    Type.Integer({ minimum: 1, maximum: 2000, description: 'Approximate page size.' }),
  ),
  recursive: Type.Optional(Type.Boolean({ default: false })),
})
