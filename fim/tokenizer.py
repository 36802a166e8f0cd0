"""Tokenizers with Code Llama's FIM pieces, exact to Meta's reference tokenizer.

Two backends: SentencePiece (`tokenizer.model`, the reference) and Hugging Face `tokenizers`
(`tokenizer.json`, for checkpoints that ship only that). Both expose the same three encodings that
Meta's `llama/tokenizer.py` defines: `encode` (with SentencePiece's implicit leading space),
`encode_infilling` (without it) and `decode_infilling` (keeping the first token's leading space).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fim.hub import model_not_found

log = logging.getLogger(__name__)

PRE_PIECE = "▁<PRE>"
SUF_PIECE = "▁<SUF>"
MID_PIECE = "▁<MID>"
EOT_PIECE = "▁<EOT>"

# Meta's reference encodes "☺" + s and drops the ids of "☺" to get text without the implicit
# leading space; decoding prepends it and drops it again.
_MARKER = "☺"


class TokenizerError(ValueError):
    """A tokenizer could not be found or lacks what was asked of it."""


@dataclass(frozen=True)
class FimIds:
    """Ids of the four FIM pieces, looked up by name."""

    prefix: int
    suffix: int
    middle: int
    eot: int


class Backend(Protocol):
    """The primitive operations a tokenizer library offers."""

    def encode(self, text: str) -> list[int]: ...
    def decode(self, ids: list[int]) -> str: ...
    def piece_id(self, piece: str) -> int | None: ...
    def id_piece(self, token_id: int) -> str: ...
    def vocab_size(self) -> int: ...


class _SentencePieceBackend:
    def __init__(self, path: Path) -> None:
        import sentencepiece

        self._sp = sentencepiece.SentencePieceProcessor(model_file=str(path))

    def encode(self, text: str) -> list[int]:
        return self._sp.encode(text)

    def decode(self, ids: list[int]) -> str:
        return self._sp.decode(ids)

    def piece_id(self, piece: str) -> int | None:
        token_id = self._sp.piece_to_id(piece)
        return token_id if self._sp.id_to_piece(token_id) == piece else None

    def id_piece(self, token_id: int) -> str:
        return self._sp.id_to_piece(token_id)

    def vocab_size(self) -> int:
        return self._sp.vocab_size()


class _HuggingFaceBackend:
    def __init__(self, path: Path) -> None:
        import tokenizers

        self._tok = tokenizers.Tokenizer.from_file(str(path))

    def encode(self, text: str) -> list[int]:
        return self._tok.encode(text, add_special_tokens=False).ids

    def decode(self, ids: list[int]) -> str:
        return self._tok.decode(ids, skip_special_tokens=False)

    def piece_id(self, piece: str) -> int | None:
        return self._tok.token_to_id(piece)

    def id_piece(self, token_id: int) -> str:
        return self._tok.id_to_token(token_id) or ""

    def vocab_size(self) -> int:
        return self._tok.get_vocab_size(with_added_tokens=True)


class Tokenizer:
    """Code Llama's tokenizer: plain, infilling and special ids, over either backend."""

    def __init__(self, backend: Backend, source: str) -> None:
        self._backend = backend
        self.source = source
        self.bos_id = self._require("<s>")
        self.eos_id = self._require("</s>")
        self.fim = self._fim_ids()
        self._marker_ids = backend.encode(_MARKER)
        self._marker_text = backend.decode(self._marker_ids)
        if self.fim is None:
            log.info("%s has no FIM pieces: completing left to right (prefix only)", source)

    def _require(self, piece: str) -> int:
        token_id = self._backend.piece_id(piece)
        if token_id is None:
            raise TokenizerError(f"{self.source}: tokenizer has no {piece!r} piece")
        return token_id

    def _fim_ids(self) -> FimIds | None:
        ids = [self._backend.piece_id(p) for p in (PRE_PIECE, SUF_PIECE, MID_PIECE, EOT_PIECE)]
        if any(i is None for i in ids):
            return None
        return FimIds(*ids)  # type: ignore[arg-type]

    @property
    def backend(self) -> Backend:
        """What encodes and decodes (for a tokenizer that wraps this one)."""
        return self._backend

    @property
    def is_sentencepiece(self) -> bool:
        """Whether SentencePiece's model encodes (the reference), not a `tokenizer.json`."""
        return isinstance(self._backend, _SentencePieceBackend)

    @property
    def has_fim(self) -> bool:
        return self.fim is not None

    @property
    def vocab_size(self) -> int:
        return self._backend.vocab_size()

    def encode(self, text: str) -> list[int]:
        """Ids of `text` with the implicit leading space, no BOS/EOS (Meta's `encode`)."""
        return self._backend.encode(text)

    def encode_infilling(self, text: str) -> list[int]:
        """Ids of `text` without the implicit leading space (Meta's `encode_infilling`)."""
        ids = self._backend.encode(_MARKER + text)
        n = len(self._marker_ids)
        if ids[:n] != self._marker_ids:
            # The marker merged with the text; fall back to stripping the dummy space piece.
            ids = self._backend.encode(text)
            return ids[1:] if ids and self._backend.id_piece(ids[0]) == "▁" else ids
        return ids[n:]

    def decode(self, ids: list[int]) -> str:
        """Text of `ids` as SentencePiece decodes it (first leading space dropped)."""
        return self._backend.decode(ids)

    def decode_infilling(self, ids: list[int]) -> str:
        """Text of generated `ids`, keeping the first token's leading space."""
        if not ids:
            return ""
        text = self._backend.decode(self._marker_ids + list(ids))
        return text[len(self._marker_text):]

    def piece(self, token_id: int) -> str:
        return self._backend.id_piece(token_id)

    def stop_ids(self) -> frozenset[int]:
        """Ids that end a generation: EOT (where FIM exists) and EOS."""
        ids = {self.eos_id}
        if self.fim is not None:
            ids.add(self.fim.eot)
        return frozenset(ids)


def load_tokenizer(source: str | Path) -> Tokenizer:
    """Load from a `tokenizer.model`/`tokenizer.json` path, a model directory, or a hub id.

    A hub id is resolved through the local Hugging Face cache (downloading only where allowed).
    """
    path = Path(source).expanduser()
    if path.is_file():
        return _from_file(path)
    if path.is_dir():
        return _from_directory(path)
    if _looks_like_path(str(source)):
        raise TokenizerError(f"no such tokenizer file or model directory: {source}")
    return _from_directory(resolve_hub_files(str(source), ["tokenizer.model", "tokenizer.json",
                                                           "tokenizer_config.json"]))


def _from_file(path: Path) -> Tokenizer:
    try:
        path.open("rb").close()
    except OSError as exc:
        raise TokenizerError(f"{path} cannot be read ({exc.strerror or exc})") from None
    backend: Backend
    if path.suffix == ".json":
        try:
            backend = _HuggingFaceBackend(path)
        except Exception as exc:  # noqa: BLE001 - tokenizers raises bare Exceptions
            raise TokenizerError(f"{path}: not a tokenizers JSON file ({exc})") from None
    else:
        try:
            backend = _SentencePieceBackend(path)
        except (OSError, RuntimeError) as exc:
            raise TokenizerError(f"{path}: not a SentencePiece model ({exc})") from None
    return Tokenizer(backend, str(path))


def _from_directory(directory: Path) -> Tokenizer:
    # SentencePiece first: it is exact to the reference; the JSON conversion is not always.
    if (directory / "tokenizer.model").is_file():
        return _from_file(directory / "tokenizer.model")
    if (directory / "tokenizer.json").is_file():
        return _from_file(directory / "tokenizer.json")
    raise TokenizerError(f"{directory}: no tokenizer.model or tokenizer.json")


def _looks_like_path(source: str) -> bool:
    # Hub ids are "owner/name"; anything else with a separator or a leading dot is a path.
    return (source.startswith((".", "/", "~")) or source.count("/") != 1
            or source.endswith((".model", ".json")))


def resolve_hub_files(repo_id: str, patterns: list[str]) -> Path:
    """Local directory holding `patterns` of hub model `repo_id` (cache first)."""
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import HFValidationError, LocalEntryNotFoundError

    try:
        return Path(snapshot_download(repo_id, allow_patterns=patterns))
    except LocalEntryNotFoundError:
        raise TokenizerError(model_not_found(repo_id)) from None
    except (HFValidationError, OSError) as exc:
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise TokenizerError(f"model {repo_id!r} is neither a local directory nor available "
                             f"from the Hugging Face hub/cache ({first_line})") from None
    except Exception as exc:  # hub errors (404, auth) come in many classes
        raise TokenizerError(f"model {repo_id!r} could not be fetched: {exc}") from None
