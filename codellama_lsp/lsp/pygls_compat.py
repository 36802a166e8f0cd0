"""Every use of pygls's private names, in one place.

pygls 2.x offers no public way to send a message it did not build (an error for a request it
could not read), to know whether `shutdown` was received, to replace its handling of
didOpen/didChange/didClose (it keeps its own copy of each document), or to wait for the answer
to a request sent as raw JSON (tests), or to route a message without pygls's `isinstance`
checks against runtime-checkable Protocols (about 65 µs each on Python 3.11, one or two per
message: on the event loop ahead of every keystroke's completion). These functions do it with
pygls's private names; `missing()` lists the ones the installed pygls lacks, and
tests/codellama_lsp/lsp/test_pygls_compat.py fails naming them. pyproject.toml pins pygls to
the versions that test passed on: widen the pin only after running it on the new version.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, MutableMapping
from typing import Any, TypeVar

from lsprotocol import types
from pygls.protocol import JsonRPCProtocol, LanguageServerProtocol

F = TypeVar("F", bound=Callable[..., Any])

# pygls registers a protocol's built-in handlers by the `method_name` of its methods; a method
# of the same name in a subclass replaces pygls's.
_DOCUMENT_HANDLERS = {
    types.TEXT_DOCUMENT_DID_OPEN: "lsp_text_document__did_open",
    types.TEXT_DOCUMENT_DID_CHANGE: "lsp_text_document__did_change",
    types.TEXT_DOCUMENT_DID_CLOSE: "lsp_text_document__did_close",
}


# pygls's handlers of the three kinds of message, as `route` calls them.
_ROUTES = ("_handle_request", "_handle_notification", "_handle_response")


def missing() -> list[str]:
    """The private names this module uses that the installed pygls lacks (empty: all there)."""
    protocol = JsonRPCProtocol(server=None, converter=None)  # type: ignore[arg-type]
    absent = [f"JsonRPCProtocol().{name}" for name in ("_shutdown", "_send_data",
                                                       "_request_futures", *_ROUTES)
              if not hasattr(protocol, name)]
    if not isinstance(getattr(getattr(protocol, "fm", None), "features", None), dict):
        absent.append("JsonRPCProtocol().fm.features (the server's handlers by method)")
    for method, name in _DOCUMENT_HANDLERS.items():
        builtin = getattr(LanguageServerProtocol, name, None)
        if getattr(builtin, "method_name", None) != method:
            absent.append(f"LanguageServerProtocol.{name} (the built-in {method} handler, "
                          "with its method_name)")
    return absent


def is_shut_down(protocol: JsonRPCProtocol) -> bool:
    """Whether the client sent `shutdown`."""
    return bool(protocol._shutdown)


def route(protocol: JsonRPCProtocol, message: Any) -> None:
    """What pygls's `JsonRPCProtocol.handle_message` does with a message of the current
    version, once the lifecycle allows it: its handler runs in a context of its own. The kind is
    told by the fields the message has, as pygls's Protocol classes tell it, with `hasattr`."""
    context = contextvars.copy_context()
    if hasattr(message, "method") and hasattr(message, "params"):
        if hasattr(message, "id"):
            context.run(protocol._handle_request, message.id, message.method, message.params)
        else:
            context.run(protocol._handle_notification, message.method, message.params)
    elif hasattr(message, "result"):
        context.run(protocol._handle_response, message.id, message.result)
    else:
        context.run(protocol._handle_response, message.id, None, message.error)


def send_message(protocol: JsonRPCProtocol, message: dict) -> None:
    """Send a JSON-RPC message as it is (e.g. an error pygls would not send)."""
    protocol._send_data(message)


def send_error(protocol: JsonRPCProtocol, msg_id: Any, code: int, message: str) -> None:
    """Answer request `msg_id` with a JSON-RPC error."""
    send_message(protocol, {"jsonrpc": "2.0", "id": msg_id,
                            "error": {"code": int(code), "message": message}})


def await_answer(protocol: JsonRPCProtocol, msg_id: Any, answer: Any) -> None:
    """Have the answer to request `msg_id` (sent with `send_message`) given to `answer`, an
    object with set_result/set_exception/done/cancel, as pygls's futures (tests)."""
    requests: MutableMapping[Any, Any] = protocol._request_futures
    requests[msg_id] = answer


def _handles(method: str) -> Callable[[F], F]:
    def mark(handler: F) -> F:
        handler.method_name = method  # type: ignore[attr-defined]
        return handler
    return mark


def _user_handler(protocol: JsonRPCProtocol, method: str) -> Callable[..., Any] | None:
    return protocol.fm.features.get(method)


class DocumentsNotKept(LanguageServerProtocol):
    """pygls's LSP protocol, but didOpen/didChange/didClose go to the server's handlers only:
    pygls's workspace does not keep a second copy of each document.

    The handlers are plain functions, not generators as pygls's own: pygls keeps the future of
    every generator a notification runs and never drops it (about 1 KB per keystroke)."""

    @_handles(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams) -> None:
        _call_user_handler(self, types.TEXT_DOCUMENT_DID_OPEN, params)

    @_handles(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        _call_user_handler(self, types.TEXT_DOCUMENT_DID_CHANGE, params)

    @_handles(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams) -> None:
        _call_user_handler(self, types.TEXT_DOCUMENT_DID_CLOSE, params)


def _call_user_handler(protocol: JsonRPCProtocol, method: str, params: Any) -> None:
    """Run the server's (synchronous) handler of `method`, where it registered one."""
    handler = _user_handler(protocol, method)
    if handler is not None:
        handler(params)


def pending_futures(protocol: JsonRPCProtocol) -> int:
    """How many futures pygls keeps for messages in flight (tests: it must not grow)."""
    return len(protocol._request_futures)
