"""`scoot watch`: apply again when a component's source changes.

    poll.py       which components' newest revisions differ from what scoot.lock records
    coalesce.py   changes that arrive together are handled once
    webhook.py    GitHub push webhooks, verified, as one more reason to look
    loop.py       the loop that ties them to an apply

The command itself is `scoot_runtime.cli.watch`; it applies through the same code as
`scoot apply --yes`, under the same apply lock.
"""
