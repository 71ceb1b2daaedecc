import { Loaded, StaleBanner } from "../../components/Status";
import { RequireWallet } from "../../components/RequireWallet";
import { useApp } from "../../AppContext";
import { useRegistry } from "../../hooks/useRegistry";
import { EmissionSection } from "./EmissionSection";
import { CommitteeSection } from "./CommitteeSection";
import { NodesTable } from "./NodesTable";
import { OperatorSection } from "./OperatorSection";

/**
 * The node registry: node operators' emission, the committee of the current epoch, every
 * registered node, and for the connected wallet node registration, stake top-ups and stake locks.
 * With the indexer down the registry is read from the chain, so operators keep their forms.
 */
export default function Nodes() {
  const registry = useRegistry();
  const { refresh } = useApp();
  return (
    <>
      <h1>Nodes</h1>
      <EmissionSection />
      <Loaded state={registry} what="the node registry">
        {(r) => (
          <>
            {r.stale && (
              <StaleBanner
                what="the indexer's node list"
                reason={r.stale}
                fallback="Nodes, stakes and the committee are read from the chain instead; history and rewards need the indexer."
                onRetry={refresh}
              />
            )}
            <CommitteeSection data={r} />
            <NodesTable nodes={r.nodes} committee={r.members.map((m) => m.id)} />
            <RequireWallet action="register a node or manage your node's stake">
              {(signer, account) => <OperatorSection data={r} signer={signer} account={account} />}
            </RequireWallet>
          </>
        )}
      </Loaded>
    </>
  );
}
