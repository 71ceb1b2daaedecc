import { afterEach, describe, expect, it, vi } from "vitest";
import { useState } from "react";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { TxStatus } from "../src/components/TxStatus";
import { LineChart } from "../src/components/LineChart";
import { AmountField } from "../src/components/AmountField";
import { Loaded } from "../src/components/Status";
import { TextField } from "../src/components/TextField";
import { Table } from "../src/components/Table";
import { parsePort } from "../src/lib/nodes";

afterEach(cleanup);

describe("TxStatus", () => {
  it("announces each state in words", () => {
    const { rerender } = render(<TxStatus state={{ status: "wallet", step: "Stake" }} />);
    expect(screen.getByRole("status").textContent).toBe("Stake: confirm in your wallet…");
    rerender(<TxStatus state={{ status: "pending", step: "Stake", hash: "0x1234567890abcdef1234" }} />);
    expect(screen.getByRole("status").textContent).toBe("Stake: pending (0x1234…1234)…");
    rerender(<TxStatus state={{ status: "confirmed", step: "Stake", hash: "0x12", block: 42 }} />);
    expect(screen.getByRole("status").textContent).toBe("Stake: confirmed in block 42.");
    rerender(<TxStatus state={{ status: "failed", step: "Stake", reason: "The amount must be more than zero." }} />);
    expect(screen.getByRole("alert").textContent).toBe("Stake failed: The amount must be more than zero.");
  });
  it("renders nothing before any transaction", () => {
    const { container } = render(<TxStatus state={{ status: "idle" }} />);
    expect(container.innerHTML).toBe("");
  });
});

describe("LineChart", () => {
  it("draws one line per series, the legend and the marker", () => {
    const { container } = render(
      <LineChart
        label="test chart"
        series={[
          { name: "A", color: "red", points: [[0, 0], [1, 10], [2, 20]] },
          { name: "B", color: "blue", points: [[0, 5], [2, 5]] },
        ]}
        formatX={String}
        formatY={String}
        marker={{ x: 1, y: 10, label: "now" }}
      />,
    );
    expect(screen.getByRole("img", { name: "test chart" })).toBeTruthy();
    expect(container.querySelectorAll("polyline")).toHaveLength(2);
    expect(container.querySelector("polyline")!.getAttribute("points")!.split(" ")).toHaveLength(3);
    expect(screen.getByText("now")).toBeTruthy();
    expect(container.querySelector("figcaption")!.textContent).toContain("A");
  });
  it("charts a single point (one reported epoch) without React warnings", () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const { container } = render(<LineChart label="one" series={[{ name: "R", color: "red", points: [[6, 80]] }]} formatX={String} formatY={String} />);
      expect(container.querySelector("polyline")!.getAttribute("points")!.split(" ")).toHaveLength(1);
      expect(errors).not.toHaveBeenCalled();
    } finally {
      errors.mockRestore();
    }
  });
  it("says there is no data instead of drawing an empty frame", () => {
    render(<LineChart label="x" series={[]} formatX={String} formatY={String} />);
    expect(screen.getByText("No data to chart yet.")).toBeTruthy();
  });
});

describe("AmountField", () => {
  function Harness({ max }: { max?: bigint }) {
    const [v, setV] = useState("");
    return <AmountField label="Amount" value={v} onChange={setV} max={max} />;
  }
  it("is labelled, flags invalid input in words, and fills in the maximum", () => {
    render(<Harness max={1_500_000_000_000_000_000n} />);
    const input = screen.getByLabelText("Amount") as HTMLInputElement;
    fireEvent.change(input, { target: { value: "abc" } });
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByText("Enter a number, like 100 or 0.5.")).toBeTruthy();
    fireEvent.click(screen.getByRole("button", { name: "Max" }));
    expect(input.value).toBe("1.5");
    expect(input.getAttribute("aria-invalid")).toBe("false");
  });
});

describe("AmountField check", () => {
  it("refuses a parsed amount the caller's rule rejects, described by the input", () => {
    function Minimum() {
      const [v, setV] = useState("");
      return <AmountField label="Stake" value={v} onChange={setV} check={(a) => (a < 1000n * 10n ** 18n ? "At least 1,000 FLK." : undefined)} />;
    }
    render(<Minimum />);
    const input = screen.getByLabelText("Stake") as HTMLInputElement;
    fireEvent.change(input, { target: { value: "999" } });
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(document.getElementById(input.getAttribute("aria-describedby")!)?.textContent).toBe("At least 1,000 FLK.");
    fireEvent.change(input, { target: { value: "1000" } });
    expect(input.getAttribute("aria-invalid")).toBe("false");
    expect(screen.queryByText("At least 1,000 FLK.")).toBeNull();
  });
});

describe("TextField", () => {
  function Port() {
    const [v, setV] = useState("");
    return <TextField label="rpc port" value={v} onChange={setV} error={parsePort(v).error} />;
  }
  it("is labelled, stays quiet while empty and describes an invalid value", () => {
    render(<Port />);
    const input = screen.getByLabelText("rpc port") as HTMLInputElement;
    expect(input.getAttribute("aria-invalid")).toBe("false");
    expect(screen.queryByText("A port is a whole number.")).toBeNull();
    fireEvent.change(input, { target: { value: "70000" } });
    expect(input.getAttribute("aria-invalid")).toBe("true");
    expect(document.getElementById(input.getAttribute("aria-describedby")!)?.textContent).toBe("A port is between 1 and 65535.");
    fireEvent.change(input, { target: { value: "4240" } });
    expect(input.getAttribute("aria-invalid")).toBe("false");
  });
});

describe("Loaded", () => {
  it("shows loading, then the error in words, then data", () => {
    const { rerender } = render(<Loaded state={{ loading: true }} what="proposals">{() => "data"}</Loaded>);
    expect(screen.getByText("Loading proposals…")).toBeTruthy();
    rerender(<Loaded state={{ loading: false, error: "node down" }} what="proposals">{() => "data"}</Loaded>);
    expect(screen.getByRole("alert").textContent).toBe("Could not load proposals: node down");
    rerender(<Loaded state={{ loading: false, data: 3 }} what="proposals">{(n) => `got ${n}`}</Loaded>);
    expect(screen.getByText("got 3")).toBeTruthy();
  });
});

describe("Table", () => {
  const rows = [
    { name: "Team", amount: 10 },
    { name: "Sale", amount: 20 },
  ];
  const row = (r: { name: string; amount: number }) => (
    <tr key={r.name} data-testid="row">
      <th scope="row">{r.name}</th>
      <td>{r.amount}</td>
      <td>
        <button type="button">Release</button>
      </td>
    </tr>
  );
  it("heads each column, names an actions column for screen readers only and draws a row per item", () => {
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const { container } = render(
        <Table columns={["Allocation", "Amount", { ariaLabel: "Actions" }]} rows={rows} empty="Nothing yet." testId="allocations">
          {row}
        </Table>,
      );
      const table = screen.getByRole("table");
      expect(table.getAttribute("data-testid")).toBe("allocations");
      expect(table.parentElement!.className).toBe("table-scroll");
      expect(screen.getAllByRole("columnheader").map((th) => th.getAttribute("aria-label") ?? th.textContent)).toEqual(["Allocation", "Amount", "Actions"]);
      expect([...container.querySelectorAll("thead th")].map((th) => th.getAttribute("scope"))).toEqual(["col", "col", "col"]);
      expect(container.querySelector('thead th[aria-label="Actions"]')!.textContent).toBe("");
      expect(screen.getAllByTestId("row").map((tr) => tr.textContent)).toEqual(["Team10Release", "Sale20Release"]);
      expect(screen.getAllByRole("rowheader").map((th) => th.getAttribute("scope"))).toEqual(["row", "row"]);
      expect(screen.queryByText("Nothing yet.")).toBeNull();
      // The caller's keys reach React: a missing or repeated key would be reported here.
      expect(errors).not.toHaveBeenCalled();
    } finally {
      errors.mockRestore();
    }
  });
  it("says an empty list in words instead of drawing the table", () => {
    const { container } = render(
      <Table columns={["Allocation"]} rows={[]} empty="Nothing yet.">
        {row}
      </Table>,
    );
    expect(container.innerHTML).toBe('<p class="empty">Nothing yet.</p>');
  });
  it("draws the headers over no rows when the list has no empty message", () => {
    render(
      <Table columns={["Allocation", "Amount"]} rows={[]}>
        {row}
      </Table>,
    );
    expect(screen.getAllByRole("columnheader")).toHaveLength(2);
    expect(screen.getAllByRole("row")).toHaveLength(1);
  });
});
