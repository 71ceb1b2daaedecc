import { useMemo } from "react";
import type { JsonRpcSigner } from "ethers";
import { useApp } from "../../AppContext";
import { connectSuite } from "../../lib/contracts";
import type { RegistryData } from "../../hooks/useRegistry";
import { AddStakeForm, LockStakeForm, RejoinForm, UnstakeForm, WithdrawForm } from "./StakeForms";
import { RegisterForm } from "./RegisterForm";
import { NodeHistorySection } from "./NodeHistorySection";
import { RewardsClaim } from "./RewardsClaim";

/** The connected wallet's nodes (stake and lock forms) and the registration form. */
export function OperatorSection({ data, signer, account }: { data: RegistryData; signer: JsonRpcSigner; account: string }) {
  const { deployment, refresh } = useApp();
  const writer = useMemo(() => connectSuite(deployment, signer), [deployment, signer]);
  const own = data.nodes.filter((n) => n.owner.toLowerCase() === account.toLowerCase());
  return (
    <>
      {own.map((n) => (
        <section key={n.id} aria-labelledby={`own-${n.id}-h`}>
          <h2 id={`own-${n.id}-h`}>Your node {n.id}</h2>
          <AddStakeForm node={n} writer={writer} account={account} onDone={refresh} />
          <LockStakeForm node={n} writer={writer} maxEpochs={data.maxLockEpochs} onDone={refresh} />
          <UnstakeForm node={n} writer={writer} epoch={data.epoch} onDone={refresh} />
          <WithdrawForm node={n} writer={writer} epoch={data.epoch} onDone={refresh} />
          <RejoinForm node={n} writer={writer} minimumStake={data.minimumStake} onDone={refresh} />
          <NodeHistorySection node={n} />
        </section>
      ))}
      {own.length > 0 && <RewardsClaim nodes={own} writer={writer} onDone={refresh} />}
      <RegisterForm writer={writer} account={account} minimumStake={data.minimumStake} onDone={refresh} />
    </>
  );
}
