import { importJWK, type JWK, SignJWT } from 'jose'

/**
 * Mints X-Identity-Assertion values for cloud-connector. Create once at startup with the
 * private JWK from `npm run identity:keygen`, then call per outgoing request:
 *   const mint = await createIdentityMinter({ privateJwk, issuer: 'https://app.example' })
 *   await fetch(`${connectorUrl}/v1/connection`, {
 *     headers: { 'X-Identity-Assertion': await mint(user.id) },
 *   })
 */
export async function createIdentityMinter(options: {
  privateJwk: JWK
  issuer: string
  audience?: string
}) {
  const key = await importJWK(options.privateJwk, 'EdDSA')
  return (userId: string) =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'EdDSA', kid: options.privateJwk.kid })
      .setIssuer(options.issuer)
      .setAudience(options.audience ?? 'cloud-connector') // a single string, never a list
      .setSubject(userId) // 1 to 255 characters
      .setIssuedAt()
      .setExpirationTime('60s') // the connector refuses more than 300 s
      .sign(key)
}
