"""`scoot console`: the running architecture as a live picture in the browser.

    picture.py   the picture as data: components in dependency order, objects with what
                 the driver observes and what an apply would do, edges; an object's details;
                 a plan's changes, each with its `.sct` line
    editor.py    the links that open an editor at a `.sct` line (--editor, SCOOT_EDITOR)
    session.py   one application's console: looks (a plan with refresh, fetching no
                 source) kept fresh by a poller, saved plans (apply, destroy) made and
                 applied, logs followed; every answer redacted
    server.py    the HTTP server (standard library): 127.0.0.1 only, a token on every
                 request, state changes by POST with the token in a header
    static/      the page: plain HTML, CSS and JavaScript, drawn as SVG, no build step

No click, no printing: the command (`scoot_cli/console.py`) prints the address and waits.
"""
