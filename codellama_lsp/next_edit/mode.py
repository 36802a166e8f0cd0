"""Where next edits come from (the `nextEdits` setting)."""

from __future__ import annotations

from enum import Enum


class Mode(str, Enum):
    OFF = "off"  # no next edits
    RULES = "rules"  # the model-free rules only
    FIM = "fim"  # the rules, else the completion model fills a target line
    INSTRUCT = "instruct"  # the rules, else Code Llama - Instruct rewrites around the cursor


MODES = tuple(mode.value for mode in Mode)
