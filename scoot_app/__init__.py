"""The application layer: what the `scoot` commands, `scoot watch` and the language
server's plan lens do with an application folder, without a terminal.

    application.py   load an application (scoot.toml, target, params, `--from`, compile),
                     open its runtime, make a plan: typed results, never an exit
    converge.py      take the apply lock, plan, confirm (the caller's callback), apply
    watch.py         a watch session: looks and webhooks → one converge per change
    graph.py         the architecture as nodes and edges (`scoot graph`, the console)
    observe.py       what the drivers observe of the recorded objects (`scoot status`)
    console/         `scoot console`: the live picture in the browser, its server and page

Nothing here prints, uses click or exits: outcomes are values, and what happens on the
way is told to a callback as typed events, which the CLI renders and tests wait on.
It sits above the compiler (`scoot_lang`) and the runtime (`scoot_runtime`), and below
the CLI (`scoot_cli`) and the language server (`scoot_lsp`).
"""
