// `node --test out/test/`: the restart policy of the client.
import { strict as assert } from "node:assert";
import { test } from "node:test";

import { RestartBudget } from "../restarts";

function clock(): { now: () => number; advance: (ms: number) => void } {
  let time = 1_000_000;
  return { now: () => time, advance: (ms) => (time += ms) };
}

test("restarts up to the budget, then stops", () => {
  const { now } = clock();
  const budget = new RestartBudget(5, 180_000, now);
  const decisions = Array.from({ length: 6 }, () => budget.exited());
  assert.deepEqual(
    decisions.map((d) => d.restart),
    [true, true, true, true, true, false],
  );
  assert.equal(decisions[5].count, 6);
});

test("exits older than the window are forgotten", () => {
  const { now, advance } = clock();
  const budget = new RestartBudget(2, 60_000, now);
  assert.equal(budget.exited().restart, true);
  assert.equal(budget.exited().restart, true);
  advance(60_000);
  const third = budget.exited();
  assert.deepEqual(third, { restart: true, count: 1 });
});

test("a reset starts a fresh budget", () => {
  const { now } = clock();
  const budget = new RestartBudget(1, 60_000, now);
  budget.exited();
  assert.equal(budget.exited().restart, false);
  budget.reset();
  assert.equal(budget.exited().restart, true);
});
