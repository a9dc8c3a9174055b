"""What the CLI shows of the architecture, its plans, applies and state: text (coloured
through click when the output is a terminal, the same characters without) and JSON.
Nothing here calls a driver or reads a file, and no secret value reaches it:
configurations are shown as written, where a secret is `secret("NAME")`.
"""
