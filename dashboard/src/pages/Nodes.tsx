/**
 * The node registry is built on another branch in parallel; this page fills in when its contract
 * and the indexer's `nodes`, `epochs` and `rewardProof` queries land.
 */
export default function Nodes() {
  return (
    <>
      <h1>Nodes</h1>
      <p className="empty">
        The node registry lands next: the registry, the committee of the current epoch, reputation over epochs, node registration and reward claims will appear here once the
        registry contract and the indexer are deployed.
      </p>
    </>
  );
}
