import type { IncomingHttpHeaders } from "node:http";
import { RECEIPT_HEADER, type ComputeAdmission, type ComputeDesk, type InvocationMeter } from "../acks/computeDesk";

/**
 * The proxy hook (ServiceRouter.route) of a paid request: the service's meter, in header
 * `meterHeader`, becomes the node-signed receipt of `x-fleek-receipt` and is never passed on; the
 * meter is read as `toInvocation` maps it to what the desk charges. An answer without a meter (the
 * service failed, the module did not compile) or with one the node cannot sign (never one its own
 * service writes) is not charged: the admission's reservation is given back and the answer goes
 * out unreceipted, rather than an exception escaping the proxy's callback.
 */
export function meterReceiptHook<M>(
  compute: ComputeDesk,
  admission: ComputeAdmission,
  meterHeader: string,
  toInvocation: (meter: M) => InvocationMeter,
): (status: number, headers: IncomingHttpHeaders | undefined) => IncomingHttpHeaders | undefined {
  return (_, headers) => {
    if (!headers) {
      compute.release(admission);
      return headers;
    }
    const { [meterHeader]: meter, ...rest } = headers;
    if (typeof meter !== "string") {
      compute.release(admission);
      return rest;
    }
    try {
      return { ...rest, [RECEIPT_HEADER]: JSON.stringify(compute.issue(admission, toInvocation(JSON.parse(meter) as M))) };
    } catch {
      compute.release(admission);
      return rest;
    }
  };
}
