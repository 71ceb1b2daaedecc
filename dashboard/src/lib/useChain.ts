/** The chain reads of the pages: the read provider and the suite bound to it, for the app's deployment. */
import { useMemo } from "react";
import type { JsonRpcProvider } from "ethers";
import { useApp } from "../AppContext";
import { connectSuite, readProvider, type Suite } from "./contracts";

/** {@link readProvider} of the app's deployment. */
export function useReadProvider(): JsonRpcProvider {
  return readProvider(useApp().deployment);
}

/** The suite bound to the read provider, built once per deployment. */
export function useSuite(): Suite {
  const { deployment } = useApp();
  return useMemo(() => connectSuite(deployment, readProvider(deployment)), [deployment]);
}
