"""`scoot console`: the running architecture as a live picture in the browser.

    picture.py   the picture as data: components in dependency order, objects with what
                 the driver observes and what an apply would do, edges; an object's details
    session.py   one application's console: looks (a plan with refresh) kept fresh by a
                 poller, saved plans made and applied, logs followed; every answer redacted
    server.py    the HTTP server (standard library): 127.0.0.1 only, a token on every
                 request, state changes by POST with the token in a header
    static/      the page: plain HTML, CSS and JavaScript, drawn as SVG, no build step

No click, no printing: the command (`scoot_cli/console.py`) prints the address and waits.
"""
