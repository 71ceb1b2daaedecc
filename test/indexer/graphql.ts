/** POSTs a GraphQL query to an API server; returns the parsed answer (data and errors). */
export async function gql(
  url: string,
  query: string,
  variables: Record<string, unknown> = {},
): Promise<{ data?: any; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const res = await fetch(`${url}/graphql`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ query, variables }) });
  return (await res.json()) as never;
}

/**
 * Waits until the API at `url` answers at indexed block `block` or later. Its answer cache learns
 * of a new state by a notification from PostgreSQL, a moment after the writer's commit, so a test
 * that syncs and then asks waits for this first (PGlite notifies within the commit).
 */
export async function apiReached(url: string, block: number): Promise<void> {
  for (const end = Date.now() + 10_000; ;) {
    const indexed = (await gql(url, `{ health { indexedBlock } }`)).data?.health.indexedBlock;
    if (indexed >= block) return;
    if (Date.now() > end) throw new Error(`the API at ${url} is still at block ${indexed}, not ${block}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
