"""Every request gets an answer: a frame's body checked before pygls sees it.

pygls parses a body with `json.loads(body, object_hook=structure_message)` inside its
read loop, and any exception there (JSON that does not parse, a request whose params
do not fit the method's types: a negative position, a string for a number, missing
params) is logged and dropped. The client waits forever for an answer. pygls also
drops, unanswered, a message without `"jsonrpc": "2.0"` and any request after
`shutdown`.

`handle_frame` is the one place where a body becomes a message. What it cannot hand
on is answered here, as JSON-RPC says: -32700 for a body that is not JSON, -32600 for
JSON that is not a message, -32601 for a method the server does not have, -32602 for
params that do not fit; with the request's id, or null when it has none that can be
read. A notification that does not fit is logged: notifications have no answers.

What fits is strict (`strict_converter`): lsprotocol's converter calls `str()` and
`int()` on whatever it is given, so a uri of null became the document "None" and a
line of "3" or 2.7 a number. A value of the wrong JSON type is now Invalid params.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from cattrs import Converter
from cattrs.v import transform_error
from lsprotocol.types import CANCEL_REQUEST
from pygls.protocol import LanguageServerProtocol, default_converter
from pygls.protocol.json_rpc import RPCMessage, RPCRequest

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603

log = logging.getLogger("scoot_lsp")


def _is_id(value: object) -> bool:
    """JSON-RPC's ids: strings and integers (null is for answers that cannot name one)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _why(error: BaseException) -> str:
    """What did not fit, where: `expected int @ $.params.position.line`."""
    cause = error.__cause__ or error
    try:
        lines = transform_error(cause)
    except Exception:
        lines = [str(cause)]
    return "; ".join(lines)[:500] or type(cause).__name__


def _exactly(kind: type[Any], *also: type[Any]) -> Any:
    """A structure hook that takes JSON's own type for `kind` and refuses the rest."""
    accepted = (kind, *also)

    def structure(value: object, _: object) -> Any:
        # bool is an int in Python, never in JSON: true is not a line number.
        if isinstance(value, bool) is not (kind is bool) or not isinstance(value, accepted):
            raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
        return kind(value)

    return structure


def strict_converter() -> Converter:
    """pygls' converter, without coercing the JSON values of primitive fields."""
    converter: Converter = default_converter()  # type: ignore[no-untyped-call]  # pygls leaves it unannotated
    converter.register_structure_hook(str, _exactly(str))
    converter.register_structure_hook(int, _exactly(int))
    converter.register_structure_hook(bool, _exactly(bool))
    converter.register_structure_hook(float, _exactly(float, int))  # JSON's 1 is a number too
    return converter


class ScootProtocol(LanguageServerProtocol):
    """pygls' language server protocol, with frames read by `handle_frame`."""

    def reply_error(self, msg_id: str | int | None, code: int, message: str) -> None:
        # A plain dict, not lsprotocol's ResponseErrorMessage: its converter leaves out
        # an id that is None, and a response without an id is not a response.
        self._send_data({"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}})

    def serves(self, method: str) -> bool:
        # `$/cancelRequest` is pygls' own, handled before any feature is looked up.
        return method == CANCEL_REQUEST or method in self.fm.builtin_features or method in self.fm.features

    def handle_frame(self, body: bytes) -> None:
        """One frame's body: a message handed to pygls, or an answer saying why not."""
        try:
            data = json.loads(body)
        except (ValueError, RecursionError) as error:  # bad JSON, not UTF-8, nested too deep
            log.warning("a frame is not JSON: %s", error)
            self.reply_error(None, PARSE_ERROR, f"the frame's body is not JSON: {error}"[:500])
            return
        if not isinstance(data, dict):
            self.reply_error(None, INVALID_REQUEST, "a message is a JSON object (LSP has no batches)")
            return
        has_id = "id" in data
        msg_id = data.get("id")
        if has_id and not _is_id(msg_id):
            self.reply_error(None, INVALID_REQUEST, "a message's id is a string or an integer")
            return
        if data.get("jsonrpc") != "2.0":
            self.reply_error(msg_id, INVALID_REQUEST, 'a message says "jsonrpc": "2.0"')
            return
        method = data.get("method")
        if "method" in data and not isinstance(method, str):
            self.reply_error(msg_id, INVALID_REQUEST, "a message's method is a string")
            return
        try:
            if isinstance(method, str):
                self._request_or_notification(data, method, msg_id if has_id else None)
            elif has_id:
                self._response(data, msg_id)
            else:
                self.reply_error(None, INVALID_REQUEST, "a message has a method (a request or notification) or an id (a response)")
        except Exception as error:  # a bug of ours or pygls': still an answer
            log.exception("handling a message failed")
            if has_id and isinstance(method, str):
                self.reply_error(msg_id, INTERNAL_ERROR, f"{type(error).__name__}: {error}"[:500])

    def _request_or_notification(self, data: dict[str, Any], method: str, msg_id: str | int | None) -> None:
        if not self.serves(method):
            # Answered before the params are structured: pygls turns the params of a
            # method it has no type for into namedtuples, one class per JSON object.
            if msg_id is not None:
                self.reply_error(msg_id, METHOD_NOT_FOUND, f"the Scoot language server has no method {method}")
            else:
                log.debug("ignoring the notification %s", method)
            return
        try:
            message = self.structure_message(data)
        except Exception as error:
            if msg_id is None:
                log.warning("the notification %s does not fit its type: %s", method, _why(error))
            else:
                self.reply_error(msg_id, INVALID_PARAMS, f"{method}: {_why(error)}")
            return
        if msg_id is not None and not isinstance(message, RPCRequest):
            self.reply_error(msg_id, INVALID_REQUEST, f"{method} is a notification: it has no id")
            return
        self.handle_message(message)

    def _response(self, data: dict[str, Any], msg_id: object) -> None:
        """A client's answer to one of the server's own requests."""
        # pygls keeps the futures of the client's requests in the same table as the
        # server's: an "answer" to one of the client's own would resolve it.
        if msg_id not in self._result_types or msg_id not in self._request_futures:
            # Not structured: pygls would build namedtuples of a result no one waits for.
            log.warning("a response to no request of the server's: id %r", msg_id)
            return
        try:
            message = self.structure_message(data)
        except Exception as error:
            log.warning("a response does not fit its type: %s", _why(error))
            return
        self.handle_message(message)

    def handle_message(self, message: RPCMessage) -> None:
        # pygls drops requests after `shutdown` without a word; LSP says they are errors.
        if self._shutdown and isinstance(message, RPCRequest):
            self.reply_error(message.id, INVALID_REQUEST, "the server has been shut down: it takes no more requests")
            return
        super().handle_message(message)
