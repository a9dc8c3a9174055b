"""`scoot watch`: apply again when a component's source changes.

    poll.py       which components' newest revisions differ from what scoot.lock records
    coalesce.py   changes that arrive together are handled once
    webhook.py    GitHub push webhooks, verified, as one more reason to look
    loop.py       the loop that ties them to an apply, telling what happens as typed events

A watch session (`scoot_app.watch`) ties this machinery to an application: it applies
through the same code as `scoot apply --yes`, under the same apply lock. The command
`scoot watch` (`scoot_cli.watch`) prints the session's events.
"""
