import { Component, type ErrorInfo, type ReactNode } from "react";

/**
 * Keeps a page's render error inside the page: the navigation and the wallet stay usable, the
 * error is said in words, and "Try again" renders the page anew. The app keys it by route, so
 * opening another page starts clean.
 */
export class PageErrorBoundary extends Component<{ children: ReactNode }, { error?: Error }> {
  state: { error?: Error } = {};

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  componentDidCatch(error: Error, info: ErrorInfo) {
    // One structured line for whoever reads the console; the page shows the words.
    console.warn("page error", { message: error.message, componentStack: info.componentStack });
  }

  render() {
    const { error } = this.state;
    if (!error) return this.props.children;
    return (
      <div role="alert" className="error" data-testid="page-error">
        <p>This page failed to show: {error.message}</p>
        <p>The other pages still work.</p>
        <button type="button" onClick={() => this.setState({ error: undefined })}>
          Try again
        </button>
      </div>
    );
  }
}
