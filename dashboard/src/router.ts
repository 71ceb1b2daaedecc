import { useEffect, useState } from "react";

/** The pages, in navigation order. Hash routes: the build is static files with no server routing. */
export const ROUTES = [
  { route: "overview", label: "Overview" },
  { route: "account", label: "Account" },
  { route: "governance", label: "Governance" },
  { route: "nodes", label: "Nodes" },
  { route: "creators", label: "Creator tokens" },
  { route: "functions", label: "Functions" },
  { route: "agents", label: "Agents" },
] as const;

export type Route = (typeof ROUTES)[number]["route"];

function parse(hash: string): Route {
  const name = hash.replace(/^#\/?/, "").split("/")[0];
  return ROUTES.find((r) => r.route === name)?.route ?? "overview";
}

/** The current page from `location.hash`, following back/forward and link clicks. */
export function useHashRoute(): Route {
  const [route, setRoute] = useState(() => parse(location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parse(location.hash));
    window.addEventListener("hashchange", onChange);
    return () => window.removeEventListener("hashchange", onChange);
  }, []);
  return route;
}
