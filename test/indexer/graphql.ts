/** POSTs a GraphQL query to an API server; returns the parsed answer (data and errors). */
export async function gql(url: string, query: string, variables: Record<string, unknown> = {}): Promise<{ data?: any; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const res = await fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as never;
}
