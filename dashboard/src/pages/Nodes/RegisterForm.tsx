import { useState } from "react";
import { useApp } from "../../AppContext";
import { useTransaction } from "../../lib/useTransaction";
import type { Suite } from "../../lib/contracts";
import { TxStatus } from "../../components/TxStatus";
import { TextField } from "../../components/TextField";
import { AmountField, readAmount } from "../../components/AmountField";
import { formatToken } from "../../lib/format";
import { DEFAULT_PORTS, PORT_NAMES, parseHost, parsePort, type PortName } from "../../lib/nodes";
import { parseRegistrationProof } from "../../../../protocol/nodeKeyProof";
import { approveRegistry } from "./StakeForms";
import { ApprovalSteps } from "../../components/ApprovalSteps";
import { useAllowance } from "../../hooks/useAllowance";

/**
 * Registers a node: the proof of its two keys (printed by `node prove --operator <this wallet>`,
 * so the wallet never holds the node's keys), host and six ports, and a stake of at least the
 * minimum.
 */
export function RegisterForm({ writer, account, minimumStake, onDone }: { writer: Suite; account: string; minimumStake: bigint; onDone: () => void }) {
  const { deployment } = useApp();
  const [proofText, setProofText] = useState("");
  const [host, setHost] = useState("");
  const [ports, setPorts] = useState(DEFAULT_PORTS);
  const [stake, setStake] = useState("");
  const tx = useTransaction(() => {
    setProofText("");
    setHost("");
    setStake("");
    onDone();
  });

  const proof = parseRegistrationProof(proofText, { operator: account, chainId: BigInt(deployment.chainId), registry: deployment.contracts.registry });
  const parsedHost = parseHost(host);
  const portParses = PORT_NAMES.map((name) => [name, parsePort(ports[name])] as const);
  const amount = readAmount(stake);
  const belowMinimum = (value: bigint) => (value < minimumStake ? `A node needs at least ${formatToken(minimumStake)}.` : undefined);
  const valid =
    proof.value !== undefined &&
    parsedHost.value !== undefined &&
    portParses.every(([, p]) => p.value !== undefined) &&
    amount.value !== undefined &&
    !belowMinimum(amount.value);

  const allowance = useAllowance("flk", account, "registry");
  const register = () =>
    tx.run(async (send) => {
      const p = proof.value!;
      const endpoints = {
        host: parsedHost.value!,
        ports: Object.fromEntries(portParses.map(([name, port]) => [name, port.value!])) as Record<PortName, number>,
      };
      await approveRegistry(writer, account, amount.value!, send);
      await send("Register node", () => writer.registry.register(p.nodeKey, p.signer, endpoints, amount.value!, p.signerProof, p.keyProof));
    });

  return (
    <section aria-labelledby="register-h">
      <h2 id="register-h">Register a node</h2>
      <form className="card" onSubmit={(e) => e.preventDefault()} aria-label="Register a node">
        <TextField
          label={`Registration proof (the JSON of \`node prove --operator ${account}\`)`}
          value={proofText}
          onChange={setProofText}
          error={proof.error}
          placeholder='{"chainId": …, "nodeKey": "0x…", "signer": "0x…", …}'
          testId="node-proof"
          multiline
        />
        {proof.value && (
          <p className="hint" data-testid="node-proof-keys">
            Node key {proof.value.nodeKey}, report signer {proof.value.signer}
          </p>
        )}
        <TextField label="Host" value={host} onChange={setHost} error={parsedHost.error} placeholder="node.example.org" testId="node-host" />
        <fieldset className="field-row">
          <legend>Ports</legend>
          {portParses.map(([name, p]) => (
            <TextField
              key={name}
              label={`${name} port`}
              inputMode="numeric"
              value={ports[name]}
              onChange={(v) => setPorts({ ...ports, [name]: v })}
              error={p.error}
            />
          ))}
        </fieldset>
        <AmountField label={`Stake (at least ${formatToken(minimumStake)})`} value={stake} onChange={setStake} check={belowMinimum} />
        <ApprovalSteps
          approve="Approve FLK"
          action="Register node"
          amount={valid ? amount.value : undefined}
          allowance={allowance.data}
          state={tx.state}
          approveText={`Approve ${formatToken(amount.value ?? 0n)} for the node registry`}
          actionText={`Register the node with ${formatToken(amount.value ?? 0n)} of stake`}
        />
        <div className="actions">
          <button type="submit" disabled={tx.busy || !valid} onClick={register}>
            Approve and register
          </button>
        </div>
      </form>
      <TxStatus state={tx.state} />
    </section>
  );
}
