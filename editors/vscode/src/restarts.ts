// When to restart a language server that stopped: again and again, but not forever.
// Kept apart from the client so that Node can test it without VS Code.

/** Unexpected exits within a sliding window; past the budget, the server is left stopped. */
export class RestartBudget {
  private exits: number[] = [];

  constructor(
    readonly max: number,
    readonly windowMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Count an exit: whether to restart, and how many exits the window holds now. */
  exited(): { restart: boolean; count: number } {
    const at = this.now();
    this.exits = this.exits.filter((earlier) => at - earlier < this.windowMs);
    this.exits.push(at);
    return { restart: this.exits.length <= this.max, count: this.exits.length };
  }

  /** A restart by hand starts a fresh budget. */
  reset(): void {
    this.exits = [];
  }
}
