import { lazy, Suspense, useCallback, useEffect, useMemo, useRef, useState } from "react";
import { AppContext, type AppState } from "./AppContext";
import type { Deployment } from "./lib/contracts";
import { describeError } from "./lib/revert";
import { indexerData } from "./data/indexer";
import { graphqlClient, IndexerError, type GraphQuery } from "./data/graphql";
import { WalletProvider } from "./wallet/WalletContext";
import { WalletButton } from "./wallet/WalletButton";
import { useHashRoute, ROUTES, type Route } from "./router";
import { Overview } from "./pages/Overview";
import { PageErrorBoundary } from "./components/PageErrorBoundary";

// The first page ships in the entry chunk; the others load when opened, which keeps the first
// page's bundle small.
const Account = lazy(() => import("./pages/Account"));
const Governance = lazy(() => import("./pages/Governance"));
const Nodes = lazy(() => import("./pages/Nodes"));
const Creators = lazy(() => import("./pages/Creators"));
const Functions = lazy(() => import("./pages/Functions"));
const Agents = lazy(() => import("./pages/Agents"));

/** Fetches the deployment the host serves next to the app: the devnet's addresses.json plus the indexer's `graphqlUrl`. */
async function loadDeployment(): Promise<Deployment> {
  const response = await fetch("./addresses.json");
  if (!response.ok) throw new Error(`No deployment found (addresses.json: HTTP ${response.status}). Start the devnet with \`npm start\`.`);
  return (await response.json()) as Deployment;
}

function Page({ route }: { route: Route }) {
  switch (route) {
    case "account":
      return <Account />;
    case "governance":
      return <Governance />;
    case "nodes":
      return <Nodes />;
    case "creators":
      return <Creators />;
    case "functions":
      return <Functions />;
    case "agents":
      return <Agents />;
    default:
      return <Overview />;
  }
}

/** The app shell: deployment, wallet, navigation and the current page. */
export function App() {
  const [deployment, setDeployment] = useState<Deployment>();
  const [error, setError] = useState<string>();
  const [version, setVersion] = useState(0);
  const route = useHashRoute();
  // On narrow screens the navigation folds under a Menu button; opening a page folds it again.
  const [menuOpen, setMenuOpen] = useState(false);
  useEffect(() => setMenuOpen(false), [route]);

  useEffect(() => {
    loadDeployment().then(setDeployment, (err) => setError(describeError(err)));
  }, []);

  const refresh = useCallback(() => setVersion((v) => v + 1), []);
  // The block of the latest confirmed transaction: lists wait for the indexer to reach it.
  const minBlock = useRef(0);
  const sawBlock = useCallback((block: number) => void (minBlock.current = Math.max(minBlock.current, block)), []);
  const app = useMemo<AppState | undefined>(() => {
    if (!deployment) return undefined;
    const query: GraphQuery = deployment.graphqlUrl
      ? graphqlClient(deployment.graphqlUrl)
      : () =>
          Promise.reject(
            new IndexerError(
              "This deployment names no indexer (`graphqlUrl` in addresses.json), so lists, history and totals cannot be shown.",
              "UNCONFIGURED",
            ),
          );
    const data = indexerData(query, deployment, () => minBlock.current);
    return { deployment, data, version, refresh, sawBlock };
  }, [deployment, version, refresh, sawBlock]);

  const shell = (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header onKeyDown={(e) => e.key === "Escape" && setMenuOpen(false)}>
        <strong className="brand">Fleek Network</strong>
        <button type="button" className="menu-toggle" aria-expanded={menuOpen} aria-controls="pages-nav" onClick={() => setMenuOpen((open) => !open)}>
          Menu
        </button>
        <nav id="pages-nav" aria-label="Pages" data-open={menuOpen}>
          {ROUTES.map((r) => (
            <a key={r.route} href={`#/${r.route}`} aria-current={route === r.route ? "page" : undefined}>
              {r.label}
            </a>
          ))}
        </nav>
        {deployment && <WalletButton />}
      </header>
      <main id="main" tabIndex={-1}>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        {!error && !app && <p aria-busy="true">Loading the deployment…</p>}
        {app && (
          <AppContext.Provider value={app}>
            {/* Outside Suspense too: a page chunk that fails to load is an error of that page only. */}
            <PageErrorBoundary key={route}>
              <Suspense fallback={<p aria-busy="true">Loading the page…</p>}>
                <Page route={route} />
              </Suspense>
            </PageErrorBoundary>
          </AppContext.Provider>
        )}
      </main>
    </>
  );
  return deployment ? <WalletProvider expectedChainId={deployment.chainId}>{shell}</WalletProvider> : shell;
}
