/**
 * The deployment the dashboard is pointed at, its data source,
 * and a version counter that pages reload on after a confirmed transaction.
 */
import { createContext, useContext } from "react";
import type { Deployment } from "./lib/contracts";
import type { DashboardData } from "./data/source";

export interface AppState {
  deployment: Deployment;
  data: DashboardData;
  /** Bumped after every confirmed transaction. */
  version: number;
  refresh(): void;
  /** Notes a confirmed transaction's block: the indexer's lists are read again once they include it. */
  sawBlock(block: number): void;
}

export const AppContext = createContext<AppState | undefined>(undefined);

/** The app state; only below the app shell. */
export function useApp(): AppState {
  const state = useContext(AppContext);
  if (!state) throw new Error("useApp outside AppContext");
  return state;
}
