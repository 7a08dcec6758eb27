import { Type } from 'typebox'

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ description: 'A URI naming the problem type.' }),
    title: Type.String(),
    status: Type.Integer(),
    detail: Type.String({
      description: 'What went wrong; never carries secrets or internal detail.',
    }),
    code: Type.String({ description: 'Stable machine-readable code (contract §6).' }),
  },
  { $id: 'Problem', title: 'Problem', description: 'RFC 9457 problem details.' },
)

/** A response entry for each listed status, all `application/problem+json` of the shared shape. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((status) => [
      status,
      {
        description: `Problem details (${status}); see \`code\`.`,
        content: { 'application/problem+json': { schema: Type.Ref('Problem') } },
      },
    ]),
  )
}
