import { afterEach, describe, expect, it, vi } from "vitest";
import { useState } from "react";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { TxStatus } from "../src/components/TxStatus";
import { LineChart, niceTicks } from "../src/components/LineChart";
import { AmountField } from "../src/components/AmountField";
import { Loaded } from "../src/components/Status";
import { TextField } from "../src/components/TextField";
import { Table } from "../src/components/Table";
import { Tabs } from "../src/components/Tabs";
import { ApprovalSteps } from "../src/components/ApprovalSteps";
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
  it("copies the full hash once there is one, and says so", async () => {
    const hash = `0x${"ab".repeat(32)}`;
    const copied: string[] = [];
    Object.defineProperty(navigator, "clipboard", { configurable: true, value: { writeText: async (t: string) => void copied.push(t) } });
    const { rerender } = render(<TxStatus state={{ status: "wallet", step: "Stake" }} />);
    expect(screen.queryByRole("button", { name: "Copy transaction hash" })).toBeNull();
    rerender(<TxStatus state={{ status: "pending", step: "Stake", hash }} />);
    fireEvent.click(screen.getByRole("button", { name: "Copy transaction hash" }));
    await screen.findByText("Copied");
    expect(copied).toEqual([hash]);
    // The status line itself is unchanged: the button sits beside it.
    expect(screen.getByRole("status").textContent).toBe("Stake: pending (0xabab…abab)…");
  });

  it("says so when the browser refuses the clipboard", async () => {
    Object.defineProperty(navigator, "clipboard", { configurable: true, value: { writeText: async () => Promise.reject(new Error("NotAllowedError")) } });
    render(<TxStatus state={{ status: "confirmed", step: "Stake", hash: "0x12", block: 42 }} />);
    fireEvent.click(screen.getByRole("button", { name: "Copy transaction hash" }));
    await screen.findByText("Copy refused by the browser");
  });

  it("renders nothing before any transaction", () => {
    const { container } = render(<TxStatus state={{ status: "idle" }} />);
    expect(container.innerHTML).toBe("");
  });
});

describe("LineChart", () => {
  it("stacks parts of a whole as areas, the first at the bottom, on an axis that covers their sum", () => {
    const { container } = render(
      <LineChart
        label="stacked"
        stacked
        series={[
          {
            name: "Liquid",
            color: "red",
            points: [
              [0, 30],
              [10, 40],
            ],
          },
          {
            name: "Staked",
            color: "blue",
            points: [
              [0, 10],
              [10, 20],
            ],
          },
        ]}
        formatX={String}
        formatY={String}
      />,
    );
    const areas = [...container.querySelectorAll("polygon")];
    expect(areas).toHaveLength(2);
    expect(container.querySelectorAll("polyline")).toHaveLength(0);
    // The sum peaks at 60: round ticks 0..60 (step 20; 60 is the top of the frame, y = 12).
    const tickLabels = [...container.querySelectorAll("svg > g > text")].map((t) => t.textContent);
    expect(tickLabels).toEqual(["0", "20", "40", "60"]);
    const ys = (polygon: Element) =>
      polygon
        .getAttribute("points")!
        .split(" ")
        .map((p) => Number(p.split(",")[1]));
    const [frameTop, frameBottom] = [12, 260 - 28];
    const at = (v: number) => frameBottom - (v / 60) * (frameBottom - frameTop);
    // The bottom area runs along its own tops (30, 40) and back along the axis; the upper one from the sums (40, 60) back to the bottom's tops.
    expect(ys(areas[0])).toEqual([at(30), at(40), at(0), at(0)]);
    expect(ys(areas[1])).toEqual([at(40), at(60), at(40), at(30)]);
  });

  it("shows a tooltip with each series' own value on focus, moved by the arrow keys, and hides it on blur", () => {
    render(
      <LineChart
        label="tips"
        stacked
        series={[
          {
            name: "Liquid",
            color: "red",
            points: [
              [0, 30],
              [10, 40],
              [20, 45],
            ],
          },
          {
            name: "Staked",
            color: "blue",
            points: [
              [0, 10],
              [10, 20],
              [20, 25],
            ],
          },
        ]}
        formatX={(x) => `t${x}`}
        formatY={(y) => `${y} FLK`}
      />,
    );
    const chart = screen.getByRole("img", { name: "tips" });
    expect(chart.getAttribute("tabindex")).toBe("0");
    expect(screen.queryByTestId("chart-tip")).toBeNull();
    fireEvent.focus(chart);
    // The latest point first; values are the parts', not the stacked sums.
    expect(screen.getByTestId("chart-tip").textContent).toBe("t20 Liquid: 45 FLK Staked: 25 FLK");
    fireEvent.keyDown(chart, { key: "ArrowLeft" });
    expect(screen.getByTestId("chart-tip").textContent).toBe("t10 Liquid: 40 FLK Staked: 20 FLK");
    fireEvent.keyDown(chart, { key: "Home" });
    fireEvent.keyDown(chart, { key: "ArrowLeft" });
    expect(screen.getByTestId("chart-tip").textContent).toBe("t0 Liquid: 30 FLK Staked: 10 FLK");
    fireEvent.keyDown(chart, { key: "End" });
    expect(screen.getByTestId("chart-tip").textContent).toBe("t20 Liquid: 45 FLK Staked: 25 FLK");
    fireEvent.blur(chart);
    expect(screen.queryByTestId("chart-tip")).toBeNull();
  });

  it("draws one line per series, the legend and the marker", () => {
    const { container } = render(
      <LineChart
        label="test chart"
        series={[
          {
            name: "A",
            color: "red",
            points: [
              [0, 0],
              [1, 10],
              [2, 20],
            ],
          },
          {
            name: "B",
            color: "blue",
            points: [
              [0, 5],
              [2, 5],
            ],
          },
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
  it("keeps the outer x labels inside the frame (the last one was cut off)", () => {
    const { container } = render(
      <LineChart
        label="t"
        series={[
          {
            name: "A",
            color: "red",
            points: [
              [0, 1],
              [9, 2],
            ],
          },
        ]}
        formatX={String}
        formatY={String}
      />,
    );
    const anchors = [...container.querySelectorAll("svg > text")].map((t) => t.getAttribute("text-anchor"));
    expect(anchors).toEqual(["start", "middle", "middle", "end"]);
  });
  it("puts a 0-100 score on a 0-100 axis with round ticks, and breaks the line at missing epochs", () => {
    const { container } = render(
      <LineChart
        label="rep"
        series={[
          {
            name: "R",
            color: "red",
            points: [
              [1, 80],
              [2, 90],
              [3, null],
              [4, 70],
            ],
          },
        ]}
        formatX={String}
        formatY={(y) => String(Math.round(y))}
        yDomain={[0, 100]}
      />,
    );
    const yLabels = [...container.querySelectorAll("svg g text")].map((t) => t.textContent);
    expect(yLabels).toEqual(["0", "20", "40", "60", "80", "100"]);
    const lines = [...container.querySelectorAll("polyline")].map((l) => l.getAttribute("points")!.split(" ").length);
    expect(lines).toEqual([2, 1]);
    // The table alternative says the gap in words.
    expect([...container.querySelectorAll("tbody tr")].map((r) => r.textContent)).toEqual(["180", "290", "3—", "470"]);
  });
  it("picks round y ticks for any range", () => {
    expect(niceTicks(0, 100_000_000)).toEqual([0, 20_000_000, 40_000_000, 60_000_000, 80_000_000, 100_000_000]);
    expect(niceTicks(0, 87)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 0.013)).toEqual([0, 0.005, 0.01, 0.015]);
    expect(niceTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
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
    const { rerender } = render(
      <Loaded state={{ loading: true }} what="proposals">
        {() => "data"}
      </Loaded>,
    );
    expect(screen.getByText("Loading proposals…")).toBeTruthy();
    rerender(
      <Loaded state={{ loading: false, error: "node down" }} what="proposals">
        {() => "data"}
      </Loaded>,
    );
    expect(screen.getByRole("alert").textContent).toBe("Could not load proposals: node down");
    rerender(
      <Loaded state={{ loading: false, data: 3 }} what="proposals">
        {(n) => `got ${n}`}
      </Loaded>,
    );
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

describe("Tabs", () => {
  it("shows the selected tab's panel only, and moves selection and focus with the arrow keys", () => {
    render(
      <Tabs
        label="Lists"
        tabs={[
          { label: "Holders", panel: () => <p>holders panel</p> },
          { label: "Transfers", panel: () => <p>transfers panel</p> },
        ]}
      />,
    );
    const [holders, transfers] = screen.getAllByRole("tab");
    expect(screen.getByRole("tablist", { name: "Lists" })).toBeTruthy();
    expect(screen.getByRole("tabpanel").textContent).toBe("holders panel");
    expect([holders.getAttribute("aria-selected"), holders.tabIndex, transfers.tabIndex]).toEqual(["true", 0, -1]);
    expect(screen.getByRole("tabpanel").getAttribute("aria-labelledby")).toBe(holders.id);
    fireEvent.keyDown(holders, { key: "ArrowRight" });
    expect(screen.getByRole("tabpanel").textContent).toBe("transfers panel");
    expect(document.activeElement).toBe(transfers);
    // Wraps around at the ends.
    fireEvent.keyDown(transfers, { key: "ArrowRight" });
    expect(screen.getByRole("tabpanel").textContent).toBe("holders panel");
    fireEvent.click(transfers);
    expect(transfers.getAttribute("aria-selected")).toBe("true");
  });
});

describe("ApprovalSteps", () => {
  const FLK = 10n ** 18n;
  const props = { approve: "Approve FLK", action: "Stake", approveText: "Approve 5 FLK", actionText: "Stake 5 FLK", amount: 5n * FLK };
  const statuses = () => screen.getAllByRole("listitem").map((li) => li.getAttribute("data-step"));

  it("shows the approval as needed when the allowance falls short, and as not needed when it covers the amount", () => {
    const { rerender } = render(<ApprovalSteps {...props} allowance={4n * FLK} state={{ status: "idle" }} />);
    expect(screen.getByRole("list", { name: "Steps" }).textContent).toBe("Approve 5 FLK (to do)Stake 5 FLK (to do)");
    rerender(<ApprovalSteps {...props} allowance={5n * FLK} state={{ status: "idle" }} />);
    expect(statuses()).toEqual(["not needed", "to do"]);
  });

  it("follows the sequence: approval in the wallet, pending, then the action, then both done", () => {
    const { rerender } = render(<ApprovalSteps {...props} allowance={0n} state={{ status: "wallet", step: "Approve FLK" }} />);
    expect(statuses()).toEqual(["confirm in your wallet", "to do"]);
    rerender(<ApprovalSteps {...props} allowance={0n} state={{ status: "pending", step: "Approve FLK", hash: "0x1" }} />);
    expect(statuses()).toEqual(["pending", "to do"]);
    rerender(<ApprovalSteps {...props} allowance={0n} state={{ status: "wallet", step: "Stake" }} />);
    expect(statuses()).toEqual(["done", "confirm in your wallet"]);
    rerender(<ApprovalSteps {...props} allowance={0n} state={{ status: "failed", step: "Stake", reason: "no" }} />);
    expect(statuses()).toEqual(["done", "failed"]);
    rerender(<ApprovalSteps {...props} allowance={0n} state={{ status: "confirmed", step: "Stake", hash: "0x2", block: 3 }} />);
    expect(statuses()).toEqual(["done", "done"]);
    // An approval that failed leaves the action undone.
    rerender(<ApprovalSteps {...props} allowance={0n} state={{ status: "failed", step: "Approve FLK", reason: "rejected" }} />);
    expect(statuses()).toEqual(["failed", "to do"]);
  });

  it("says a skipped approval was not needed while the action runs, and shows nothing without an amount", () => {
    const { rerender, container } = render(<ApprovalSteps {...props} allowance={10n * FLK} state={{ status: "pending", step: "Stake", hash: "0x3" }} />);
    expect(statuses()).toEqual(["not needed", "pending"]);
    rerender(<ApprovalSteps {...props} amount={undefined} allowance={10n * FLK} state={{ status: "idle" }} />);
    expect(container.innerHTML).toBe("");
  });
});
