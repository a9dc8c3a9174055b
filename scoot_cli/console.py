"""`scoot console`: serve the running architecture as a live picture in the browser."""

from __future__ import annotations

import click
from click.core import ParameterSource

from scoot_cli.application import ParamOptions, application_options, exits_on_error
from scoot_cli.language import parse_params


@click.command(short_help="Show the running architecture, live, in the browser.")
@application_options
@click.option(
    "--port", type=click.IntRange(0, 65535), default=0, show_default="any free port",
    help="The port to listen on, on 127.0.0.1 (the console never listens on another address).",
)
@click.option(
    "--editor", envvar="SCOOT_EDITOR", show_envvar=True, default=None, metavar="NAME|TEMPLATE",
    help="What the `.sct` links open: vscode (the default), cursor, idea, file, or a URL template "
    "with {path} and {line}, such as 'subl://open?url=file://{path}&line={line}'.",
)
@exits_on_error
def console(path: str, target: str | None, params: ParamOptions, port: int, editor: str | None) -> None:
    """Serve a page on 127.0.0.1 that draws the application's objects, coloured by what the
    driver observes and marked with what an apply would do, kept up to date; an object's
    configuration, outputs, `.sct` line and log; the plan, and its apply. The address
    printed carries a token: every request without it is refused. Ctrl-C stops it."""
    from scoot_app.console.editor import editor_template
    from scoot_app.console.server import ConsoleServer
    from scoot_app.console.session import Session

    from_environment = click.get_current_context().get_parameter_source("editor") is ParameterSource.ENVIRONMENT
    template = editor_template(editor, "SCOOT_EDITOR" if from_environment else "--editor")
    session = Session(path, target, parse_params(params.given), params.file, template)
    server = ConsoleServer(session, port)
    session.start_polling()
    click.echo(f"Scoot console of {session.root} (target `{session.load().target.name}`):")
    click.echo(f"  {server.url}")
    click.echo("Open it in a browser; Ctrl-C stops the console.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("\nConsole stopped.")
    finally:
        session.stop()
        server.server_close()
