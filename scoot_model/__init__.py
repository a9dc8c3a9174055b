"""Scoot's model: the architecture objects and every rule that holds whatever the cloud.

`objects` (the pydantic models, the one source of truth for what an architecture
is), `names` (names, owners, repository names), `template` (the `${...}` and
`secret("NAME")` syntax of strings), `locations` (what a component's `source` may
say) and `schema` (the JSON Schema of the objects). The compiler, the language
server, the runtime and every driver ask these; this package imports nothing of
Scoot outside itself.
"""
