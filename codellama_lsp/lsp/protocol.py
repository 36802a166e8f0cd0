"""pygls's LSP protocol with two corrections.

- A request whose params do not deserialize gets JSON-RPC error -32602 (Invalid params); pygls
  2.1 logs it and sends nothing, so the client would wait forever.
- Open documents are kept by `codellama_lsp.lsp.documents` (which applies each change once, in one
  place), not also by pygls's workspace.
"""

from __future__ import annotations

import logging
from typing import Any

from cattrs import transform_error
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

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


class CodeLlamaProtocol(LanguageServerProtocol):
    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as exc:
            if not (isinstance(data, dict) and "id" in data and "method" in data):
                raise  # a notification: logged and reported by pygls; nobody waits for it
            message = describe_invalid(str(data["method"]), exc)
            log.warning("%s", message)
            self._send_response(data["id"], error=types.ResponseError(
                code=JsonRpcInvalidParams.CODE, message=message))
            return _ANSWERED

    def handle_message(self, message: Any) -> None:
        if message is _ANSWERED:
            return
        super().handle_message(message)

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(self, params: types.DidOpenTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(self, params: types.DidCloseTextDocumentParams):
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None
