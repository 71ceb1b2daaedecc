/**
 * An agent's alarms kept in its own store (table `fleek_alarms`), so they survive a restart of the
 * service and travel with its snapshots to the node that takes it over; the host schedules the
 * stored ones each time it opens the agent. A hint file beside the database (`next-alarm`, the
 * earliest due time) lets a restarted node open an agent when its alarm is due without reading
 * every agent's database at start.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { AgentStore } from "./agentStore";

const TABLE = "create table if not exists fleek_alarms (id serial primary key, due bigint not null)";
const HINT = "next-alarm";

/** The stored alarms, earliest first, at most `max` (the agent's alarm limit). */
export async function storedAlarms(store: AgentStore, max: number): Promise<{ id: number; due: number }[]> {
  await store.query(TABLE);
  const { rows } = await store.query("select id, due::float8 as due from fleek_alarms order by due, id limit $1", [max]);
  return rows.map((r) => ({ id: Number(r.id), due: Number(r.due) }));
}

/** Stores an alarm due at `due` (Unix ms); its row id. */
export async function storeAlarm(store: AgentStore, due: number): Promise<number> {
  const { rows } = await store.query("insert into fleek_alarms (due) values ($1) returning id", [due]);
  return Number(rows[0].id);
}

/** Removes alarm `id`; false when it was gone already (restored over, or removed by the agent's own SQL). */
export async function removeAlarm(store: AgentStore, id: number): Promise<boolean> {
  return (await store.query("delete from fleek_alarms where id = $1", [id])).affectedRows > 0;
}

/** The earliest stored alarm's due time, if any. */
export async function nextAlarmDue(store: AgentStore): Promise<number | undefined> {
  const { rows } = await store.query("select min(due)::float8 as due from fleek_alarms");
  return rows[0]?.due === null || rows[0]?.due === undefined ? undefined : Number(rows[0].due);
}

/** Writes the wake hint: `due`, or none; with `onlyIfEarlier`, keeps an earlier hint. */
export function writeWakeHint(dataDir: string, due: number | undefined, onlyIfEarlier = false): void {
  const file = path.join(dataDir, HINT);
  if (due === undefined) return fs.rmSync(file, { force: true });
  const known = readWakeHint(dataDir);
  if (onlyIfEarlier && known !== undefined && known <= due) return;
  fs.mkdirSync(dataDir, { recursive: true });
  fs.writeFileSync(file, String(due));
}

/** The wake hint of the agent whose folder is `dataDir`, if it has one. */
export function readWakeHint(dataDir: string): number | undefined {
  try {
    const due = Number(fs.readFileSync(path.join(dataDir, HINT), "utf8"));
    return Number.isSafeInteger(due) ? due : undefined;
  } catch {
    return undefined;
  }
}
