/**
 * The services side of a test node that hosts agents in-process: a supervisor whose services
 * live under `<dir>/services`, with the sealing key a real node derives from its seed, and the
 * `serviceToken` and `sealingPublicKey` its edge node's `agents` settings take.
 */
import * as crypto from "node:crypto";
import * as path from "node:path";
import { sealingKeyFromSeed, sealingPublicKey } from "../node/agents/agentSecrets";
import { Logger } from "../node/logger";
import { ServiceSupervisor } from "../node/services/serviceSupervisor";

export function agentsSupervisor(
  gatewayUrl: () => string,
  dir: string,
  seed: Uint8Array,
): { supervisor: ServiceSupervisor; agentKeys: { serviceToken: string; sealingPublicKey: Buffer } } {
  const sealing = sealingKeyFromSeed(seed);
  const serviceToken = crypto.randomBytes(32).toString("hex");
  const supervisor = new ServiceSupervisor({
    gatewayUrl,
    nodeHosts: ["127.0.0.1"],
    dataDir: path.join(dir, "services"),
    serviceToken,
    sealingKey: sealing.toString("hex"),
    logger: new Logger(),
  });
  return { supervisor, agentKeys: { serviceToken, sealingPublicKey: sealingPublicKey(sealing) } };
}
