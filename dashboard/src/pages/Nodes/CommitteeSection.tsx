import { Stat } from "../../components/Stat";
import type { RegistryData } from "../../hooks/useRegistry";
import { formatDateTime, formatToken, shortAddress } from "../../lib/format";

/** The current epoch's number, bounds and committee members. */
export function CommitteeSection({ data }: { data: RegistryData }) {
  return (
    <section aria-labelledby="committee-h">
      <h2 id="committee-h">Committee of epoch {data.epoch.toString()}</h2>
      <dl className="stats">
        <Stat label="Epoch" value={data.epoch.toString()} testId="epoch" />
        <Stat label="Started" value={formatDateTime(data.start)} testId="epoch-start" />
        <Stat label="Ends" value={formatDateTime(data.end)} testId="epoch-end" />
        <Stat label="Minimum stake" value={formatToken(data.minimumStake)} testId="minimum-stake" />
      </dl>
      {data.members.length === 0 ? (
        <p className="empty" data-testid="committee-empty">
          No committee this epoch: registered nodes join the active set at the next epoch change.
        </p>
      ) : (
        <ul aria-label="Committee members" data-testid="committee">
          {data.members.map((m) => (
            <li key={m.id}>
              Node {m.id} ({m.host}), signer {shortAddress(m.signer)}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
