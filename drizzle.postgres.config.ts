import { defineConfig } from 'drizzle-kit'

/** PostgreSQL (`DATABASE_URL`, contract §11): `drizzle-kit generate --config drizzle.postgres.config.ts`. */
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/vault/postgres/schema.ts',
  out: './drizzle/postgres',
})
