/**
 * What a service reads from outside, bounded: request bodies and content through the node's
 * gateway. Shared by the functions and agents services so both refuse the same way.
 */

/** A request a service refuses, with its HTTP status and the reason the client reads. */
export class ServiceRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** A request body of at most `maxBytes` (413 above, by its declared length before reading any of it). */
export async function readBoundedBody(body: AsyncIterable<Uint8Array>, declaredLength: string | undefined, maxBytes: number): Promise<Buffer> {
  const declared = Number(declaredLength ?? 0);
  if (declared > maxBytes) throw new ServiceRefusal(413, `request body is ${declared} bytes, over the ${maxBytes}-byte limit`);
  const parts: Uint8Array[] = [];
  let size = 0;
  for await (const part of body) {
    size += part.length;
    if (size > maxBytes) throw new ServiceRefusal(413, `request body over the ${maxBytes}-byte limit`);
    parts.push(part);
  }
  return Buffer.concat(parts);
}

/**
 * Content `root` read through the node's gateway (`GET /blake3/<root>`: the blockstore, which
 * fetches from peers and checks every block against the root), at most `maxBytes`: 404 when no
 * node holds it, 422 above the limit, 502 when the blockstore fails. `names` say what it is in the
 * errors: `kind` ("function": "no function with root …") and `what` ("the function's bundle is …").
 */
export async function readGatewayContent(gatewayUrl: string, root: string, maxBytes: number, names: { kind: string; what: string }): Promise<Buffer> {
  const what = names.what;
  const answer = await fetch(`${gatewayUrl}/blake3/${root}`);
  if (answer.status === 404) {
    await answer.body?.cancel();
    throw new ServiceRefusal(404, `no ${names.kind} with root ${root}: neither this node nor its peers hold it`);
  }
  if (!answer.ok || !answer.body) throw new ServiceRefusal(502, `the blockstore could not give ${root}: HTTP ${answer.status}`);
  const declared = Number(answer.headers.get("content-length") ?? 0);
  if (declared > maxBytes) {
    await answer.body.cancel();
    throw new ServiceRefusal(422, `${what} is ${declared} bytes, over the ${maxBytes}-byte limit`);
  }
  const parts: Uint8Array[] = [];
  let size = 0;
  const reader = answer.body.getReader();
  for (let part = await reader.read(); !part.done; part = await reader.read()) {
    size += part.value.length;
    if (size > maxBytes) {
      await reader.cancel();
      throw new ServiceRefusal(422, `${what} is over the ${maxBytes}-byte limit`);
    }
    parts.push(part.value);
  }
  return Buffer.concat(parts);
}
