"""The options that load a model (`LoadOptions`), the model names they may hold besides hub ids
and folders, and the checks of those options made before anything is loaded.

A bad device, an unreadable model folder or a context window beyond the model's reach should
be refused in a second with a line that says what to do, not after minutes of loading. Each
check raises ValueError with a message that completes "OPTION VALUE: ...".

The names `auto` and `demo` are resolved by `fim.models`; what tells a hub id from a path, and
what to do when a model is missing, is `fim.hub`'s (the tokenizer needs it too).
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path

from fim.hub import looks_like_path, model_not_found, offline

AUTO = "auto"  # Code Llama 7B where it is downloaded, else the demo model (the default)
DEMO = "demo"  # the small model shipped in fim/demo_model/
DEFAULT_CONTEXT_WINDOW = 4096
DTYPES = ("auto", "float32", "float16", "bfloat16")

DEVICES = "auto, cpu, cuda, cuda:N or mps"
DEVICE_MAPS = ("auto", "balanced", "balanced_low_0", "sequential")
QUANTIZATIONS = ("8bit", "4bit")
_DEVICE = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


@dataclass(frozen=True)
class LoadOptions:
    model: str = AUTO  # a hub id, a model folder, `auto` or `demo`
    device: str = "auto"  # auto | cpu | cuda | cuda:N | mps
    dtype: str = "auto"
    device_map: str | None = None  # "auto": spread over GPUs and CPU memory (accelerate)
    quantization: str | None = None  # "8bit" | "4bit" (bitsandbytes)
    context_window: int = DEFAULT_CONTEXT_WINDOW
    kv_reuse: bool = True  # keep KV caches between requests (off: every prompt runs in full)
    kv_cache_slots: int = 8  # caches kept, one per cache key (document, edit, user)
    kv_cache_tokens: int = 0  # ids the kept caches hold together; 0: twice the context window
    prompt_lookup: bool = False  # greedy drafts copied from the prompt, checked in one pass
    compile: str = "auto"  # decode step compiled on static caches: auto (CUDA) | on | off


def check_device_name(value: str) -> None:
    """`value` is spelled as a device (whether this machine has it is `check_device`'s)."""
    if not _DEVICE.match(value):
        raise ValueError(f"must be {DEVICES}")


def check_device(value: str) -> str:
    """`value` if it names a device this machine's torch can use."""
    check_device_name(value)
    if value in ("auto", "cpu"):
        return value
    if value == "mps":
        if sys.platform != "darwin" or not _has_mps():
            raise ValueError(f"no Apple MPS device here; choose from {available_devices()}")
        return value
    if _cpu_only_build():
        raise ValueError(f"this torch ({_torch_version()}) is a CPU-only build; choose from "
                         f"{available_devices()}")
    import torch

    if not torch.cuda.is_available():
        raise ValueError(f"this torch ({torch.__version__}) finds no CUDA GPU; choose from "
                         f"{available_devices()}")
    if int(value.partition(":")[2] or 0) >= torch.cuda.device_count():
        raise ValueError(f"no such GPU; choose from {available_devices()}")
    return value


def available_devices() -> str:
    """The devices this machine's torch can use, as a list for a message."""
    devices = ["auto", "cpu"]
    if not _cpu_only_build():
        import torch

        if torch.cuda.is_available():
            devices += ["cuda"] + [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if sys.platform == "darwin" and _has_mps():
        devices.append("mps")
    return ", ".join(devices)


def _torch_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return "absent"


def _cpu_only_build() -> bool:
    """Told by the wheel's version (2.13.0+cpu) without importing torch, which takes seconds."""
    return _torch_version().endswith("+cpu")


def _has_mps() -> bool:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return mps is not None and mps.is_available()


def check_quantization(kind: str, device: str) -> None:
    """8/4-bit loading needs bitsandbytes and a CUDA GPU."""
    if kind not in QUANTIZATIONS:
        raise ValueError(f"must be {' or '.join(QUANTIZATIONS)}")
    if device not in ("auto",) and not device.startswith("cuda"):
        raise ValueError(f"needs a CUDA GPU, not --device {device}")
    import importlib.util

    if importlib.util.find_spec("bitsandbytes") is None:
        raise ValueError("needs bitsandbytes: pip install bitsandbytes")
    import torch

    if not torch.cuda.is_available():
        raise ValueError("needs a CUDA GPU, and this machine's torch finds none")


def check_model(model: str, architecture: bool = True) -> None:
    """A local model folder must hold config.json, and its files must be what they claim to be
    (`check_model_files`); a hub id must be cached when offline."""
    if looks_like_path(model):
        path = Path(model).expanduser()
        if not path.is_dir():
            raise ValueError(model_not_found(model))
        if not (path / "config.json").is_file():
            raise ValueError(f"{model} is not a model folder (no config.json)")
        check_model_files(path, architecture)
        return
    if offline() and model_config_path(model) is None:
        raise ValueError(model_not_found(model))


def check_model_files(folder: Path, architecture: bool = True) -> None:
    """What a model folder's files hold, read without loading the model: config.json names a
    model type (one transformers knows, where `architecture`: that imports transformers, which
    takes seconds), each safetensors file of the weights is complete, and tokenizer.model is a
    SentencePiece model. ValueError names the file and what is wrong with it. Files that are
    absent or not regular files are left to the loader."""
    model_type = _model_type(folder / "config.json")
    if architecture and model_type is not None:
        check_architecture(folder / "config.json", model_type)
    for weights in _safetensors_files(folder):
        check_safetensors(weights)
    tokenizer = folder / "tokenizer.model"
    if tokenizer.is_file():
        from fim.tokenizer import TokenizerError, load_tokenizer

        try:
            load_tokenizer(tokenizer)
        except TokenizerError as exc:
            raise ValueError(str(exc)) from None


def _model_type(config: Path) -> str | None:
    if not config.is_file():
        return None
    try:
        values = json.loads(config.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"{config} cannot be read ({exc.strerror or exc})") from None
    except ValueError as exc:  # not UTF-8, not JSON
        raise ValueError(f"{config} is not JSON ({exc})") from None
    if not isinstance(values, dict):
        raise ValueError(f"{config} is not a JSON object")
    model_type = values.get("model_type")
    if not isinstance(model_type, str) or not model_type:
        raise ValueError(f"{config} names no model_type (e.g. \"llama\")")
    return model_type


def check_architecture(config: Path, model_type: str) -> None:
    """transformers must know `model_type` as a causal language model."""
    try:
        from transformers.models.auto.configuration_auto import CONFIG_MAPPING_NAMES
        from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES
    except ImportError:  # another layout of transformers: the loader says what it finds
        return
    from importlib.metadata import version

    if model_type not in CONFIG_MAPPING_NAMES:
        raise ValueError(f"{config}: model type {model_type!r} is not an architecture "
                         f"transformers {version('transformers')} knows (a newer "
                         "transformers, or a folder of another kind of model?)")
    if model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES:
        raise ValueError(f"{config}: model type {model_type!r} is not a causal language "
                         "model (it cannot complete code)")


def _safetensors_files(folder: Path) -> list[Path]:
    """The folder's safetensors weights: model.safetensors, or the shards its index names."""
    single = folder / "model.safetensors"
    index = folder / "model.safetensors.index.json"
    if single.is_file() or not index.is_file():
        return [single] if single.is_file() else []
    try:
        weight_map = json.loads(index.read_text(encoding="utf-8"))["weight_map"]
        shards = sorted(set(weight_map.values()))
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{index} is not a safetensors index ({exc})") from None
    for shard in shards:
        if not (folder / shard).exists():
            raise ValueError(f"{index} names {shard}, which is not in {folder}")
    return [folder / shard for shard in shards if (folder / shard).is_file()]


def check_safetensors(path: Path) -> None:
    """`path` holds a whole safetensors file: its header, and every byte the header points to
    (a download cut short is the usual culprit)."""
    try:
        size = path.stat().st_size
        with path.open("rb") as stream:
            head = stream.read(8)
            length = int.from_bytes(head, "little")
            header = stream.read(length) if len(head) == 8 and length <= size - 8 else None
    except OSError as exc:
        raise ValueError(f"{path} cannot be read ({exc.strerror or exc})") from None
    if header is None:
        raise ValueError(f"{path} is truncated or no safetensors file: its header is cut short "
                         "(download it again?)")
    end = _data_end(header)
    if end is None:
        raise ValueError(f"{path} is no safetensors file: its header is no table of tensors")
    expected = 8 + length + end
    if size < expected:
        raise ValueError(f"{path} is truncated: {size:,} of the {expected:,} bytes its header "
                         "describes (an interrupted download? download it again)")


def _data_end(header: bytes) -> int | None:
    """Where the last tensor of a safetensors header ends (from the data's start); None if
    the header is not one."""
    try:
        table = json.loads(header)
        return max((int(entry["data_offsets"][1]) for name, entry in table.items()
                    if name != "__metadata__"), default=0)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None


def model_config_path(model: str) -> Path | None:
    """The model's config.json on this machine (a folder's, or the hub cache's), else None."""
    if looks_like_path(model):
        config = Path(model).expanduser() / "config.json"
        return config if config.is_file() else None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        cached = try_to_load_from_cache(model, "config.json")
    except Exception:  # noqa: BLE001 - an invalid id is reported by the loader
        return None
    return Path(cached) if isinstance(cached, str) else None


def model_max_positions(model: str) -> int | None:
    """`max_position_embeddings` from the model's config.json, read without loading it."""
    config = model_config_path(model)
    if config is None:
        return None
    try:
        value = json.loads(config.read_text(encoding="utf-8")).get("max_position_embeddings")
    except (OSError, ValueError, AttributeError):
        return None
    return value if isinstance(value, int) and value > 0 else None


def check_context_window(model: str, window: int) -> None:
    """The window must fit the model's position embeddings (where config.json says so)."""
    maximum = model_max_positions(model)
    if maximum is not None and window > maximum:
        raise ValueError(f"exceeds the model's maximum of {maximum} tokens "
                         f"(max_position_embeddings); choose 64 to {maximum}")
