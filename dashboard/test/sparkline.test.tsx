import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { Sparkline } from "../src/pages/Nodes/NodesTable";

afterEach(cleanup);

const points = [
  { epoch: 3, score: 80 },
  { epoch: 4, score: 90 },
  { epoch: 5, score: 70 },
];

describe("Nodes reputation sparkline", () => {
  it("shows the latest epoch's score on keyboard focus, the arrow keys move along, blur hides it", () => {
    render(<Sparkline points={points} />);
    const chart = screen.getByRole("img", { name: "Reputation 80, 90, 70 in epochs 3 to 5" });
    expect(chart.getAttribute("tabindex")).toBe("0");
    expect(screen.queryByTestId("chart-tip")).toBeNull();
    fireEvent.focus(chart);
    expect(screen.getByTestId("chart-tip").textContent).toBe("Epoch 5 reputation 70");
    fireEvent.keyDown(chart, { key: "ArrowLeft" });
    expect(screen.getByTestId("chart-tip").textContent).toBe("Epoch 4 reputation 90");
    fireEvent.keyDown(chart, { key: "Home" });
    expect(screen.getByTestId("chart-tip").textContent).toBe("Epoch 3 reputation 80");
    fireEvent.blur(chart);
    expect(screen.queryByTestId("chart-tip")).toBeNull();
  });

  it("shows the score nearest the pointer on hover and hides it when the pointer leaves", () => {
    render(<Sparkline points={points} />);
    const chart = screen.getByRole("img");
    // Drawn at twice its view box's size: the pointer's x is scaled back to view-box units.
    chart.getBoundingClientRect = () => ({ left: 100, width: 128, top: 0, height: 36, right: 228, bottom: 36, x: 100, y: 0, toJSON: () => ({}) });
    fireEvent.mouseMove(chart, { clientX: 100 + 2 * 33 });
    expect(screen.getByTestId("chart-tip").textContent).toBe("Epoch 4 reputation 90");
    fireEvent.mouseMove(chart, { clientX: 104 });
    expect(screen.getByTestId("chart-tip").textContent).toBe("Epoch 3 reputation 80");
    fireEvent.mouseLeave(chart);
    expect(screen.queryByTestId("chart-tip")).toBeNull();
  });

  it("pairs each score with its epoch in its label when some epochs have none", () => {
    render(
      <Sparkline
        points={[
          { epoch: 3, score: 80 },
          { epoch: 6, score: 90 },
        ]}
      />,
    );
    expect(screen.getByRole("img").getAttribute("aria-label")).toBe("Reputation 80 in epoch 3, 90 in epoch 6");
  });
});
