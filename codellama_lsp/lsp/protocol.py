"""pygls's LSP protocol with corrections.

- A request whose params do not deserialize gets JSON-RPC error -32602 (Invalid params); pygls
  2.1 logs it and sends nothing, so the client would wait forever.
- The lifecycle as the specification states it: a request before `initialize` gets -32002
  (ServerNotInitialized), a second `initialize` and any request after `shutdown` get -32600
  (InvalidRequest), and notifications then are dropped (but `exit`). A notification sent with an
  id is a request nobody can serve: it gets -32600 too, and is not acted on.
- The params of a method lsprotocol does not know (this server's `codellama/...`, Copilot's
  next-edit methods) reach their handler as the plain JSON value: pygls would rebuild them as
  namedtuples, defining a class per JSON object of every message (about 0.3 ms a request, on
  the event loop while a completion generates), which the handlers only turn back into dicts.
- Messages are routed to pygls's handlers without its `isinstance` checks against
  runtime-checkable Protocols (`pygls_compat.route`): 65 µs each on Python 3.11, ahead of every
  keystroke's completion.
- Open documents are kept by `codellama_lsp.lsp.documents` (which applies each change once, in one
  place), not also by pygls's workspace (`pygls_compat.DocumentsNotKept`).

pygls's private names are used in `pygls_compat` only.
"""

from __future__ import annotations

import logging
from typing import Any

from cattrs import transform_error
from lsprotocol import types
from lsprotocol.types import ErrorCodes
from pygls.exceptions import JsonRpcException
from pygls.protocol import JsonRPCNotification, JsonRPCRequestMessage

from codellama_lsp.lsp.pygls_compat import DocumentsNotKept, is_shut_down, route, send_error

log = logging.getLogger(__name__)



class _Answered:
    """A request already answered with an error while it was being read."""


_ANSWERED = _Answered()


def describe_invalid(method: str, exc: BaseException) -> str:
    """One line naming what was wrong with a request's params."""
    cause = exc.__cause__
    details: list[str] = []
    if cause is not None:
        try:
            details = transform_error(cause)
        except Exception:  # noqa: BLE001 - fall back to the plain message
            details = [str(cause)]
    detail = "; ".join(details[:3]) if details else str(exc)
    return f"invalid params for {method}: {detail}"


class CodeLlamaProtocol(DocumentsNotKept):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.initialize_received = False

    def structure_message(self, data: dict[str, Any]) -> Any:
        if isinstance(data, dict) and "id" in data and "method" in data \
                and _is_notification(str(data["method"])):
            return self._refuse(data["id"], ErrorCodes.InvalidRequest, f"{data['method']} is a "
                                "notification: it takes no id (not acted on)")
        if isinstance(data, dict) and "method" in data and "params" not in data:
            data = {**data, "params": None}  # JSON-RPC lets params be left out
        if self._is_custom(data):
            return _custom_message(data)
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if not (isinstance(data, dict) and "id" in data and "method" in data):
                raise  # a notification: logged and reported by pygls; nobody waits for it
            message = describe_invalid(str(data["method"]), exc)
            log.warning("%s", message)
            send_error(self, data["id"], ErrorCodes.InvalidParams, message)
            return _ANSWERED

    def _is_custom(self, data: Any) -> bool:
        """Whether `data` is a request or notification of a method lsprotocol has no type for."""
        return isinstance(data, dict) and data.get("jsonrpc") == "2.0" \
            and isinstance(data.get("method"), str) and "error" not in data \
            and self.get_message_type(data["method"]) is None

    def handle_message(self, message: Any) -> None:
        if message is _ANSWERED or not self._in_lifecycle(message):
            return
        if getattr(message, "jsonrpc", None) != self.VERSION or is_shut_down(self):
            super().handle_message(message)  # pygls drops it (after shutdown, all but exit)
            return
        route(self, message)

    def _in_lifecycle(self, message: Any) -> bool:
        """Whether `message` may be served now; a request that may not is answered."""
        method = getattr(message, "method", None)
        if method is None or method == types.EXIT:
            return True  # responses to our requests; exit is always heard
        request = getattr(message, "id", None) is not None
        if method == types.INITIALIZE and request:
            if self.initialize_received:
                self._refuse(message.id, ErrorCodes.InvalidRequest,
                             "initialize was already received (nothing was changed)")
                return False
            self.initialize_received = True
            return True
        if not self.initialize_received:
            if request:
                self._refuse(message.id, ErrorCodes.ServerNotInitialized,
                             f"{method}: the server is not initialized yet")
            return False
        if is_shut_down(self):
            if request:
                self._refuse(message.id, ErrorCodes.InvalidRequest,
                             f"{method}: the server is shut down (only exit is heard)")
            return False
        return True

    def _refuse(self, msg_id: Any, code: int, message: str) -> _Answered:
        log.warning("%s", message)
        send_error(self, msg_id, code, message)
        return _ANSWERED


def _custom_message(data: dict[str, Any]) -> Any:
    """pygls's generic request or notification, its params kept as they were read."""
    if "id" in data:
        return JsonRPCRequestMessage(id=data["id"], method=data["method"], jsonrpc="2.0",
                                     params=data.get("params"))
    return JsonRPCNotification(method=data["method"], jsonrpc="2.0", params=data.get("params"))


def _is_notification(method: str) -> bool:
    """Whether LSP defines `method` as a notification (it has no result type)."""
    known = types.METHOD_TO_TYPES.get(method)
    return known is not None and known[1] is None
