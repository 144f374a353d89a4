"""A deterministic stand-in tokenizer: words (in pieces of at most 8 characters) and punctuation.

Every token carries the whitespace before it, so joining the tokens gives back the text exactly. Ids and
log-probabilities are derived from a CRC of the token text, so they are the same on every run and host.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Mapping

VOCAB_SIZE = 151_646
_TOKEN_RE = re.compile(r"\s*<\|[^|<>\s]{1,32}\|>|\s*\w{1,8}|\s*[^\w\s]|\s+", re.UNICODE)


def tokenize(text: str) -> list[str]:
    """Split `text` into tokens whose concatenation is `text`."""
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    """How many tokens `text` has."""
    return len(tokenize(text))


def token_id(text: str) -> int:
    """A stable id in [0, VOCAB_SIZE) for a token's text."""
    return zlib.crc32(text.encode("utf-8")) % VOCAB_SIZE


def token_logprob(text: str, position: int) -> float:
    """A stable, plausible log-probability in (-2.5, 0] for a token at a position."""
    digest = zlib.crc32(f"{position}:{text}".encode())
    return -round((digest % 2500) / 1000.0, 4)


def message_text(content: object) -> str:
    """The text of a chat message's `content`: a string, or a list of OpenAI content parts."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(_part_text(part) for part in content)
    raise TypeError("message content must be a string or a list of content parts")


def _part_text(part: object) -> str:
    if isinstance(part, Mapping):
        if part.get("type", "text") == "text":
            return str(part.get("text", ""))
        url = part.get("image_url")
        return f"![]({url.get('url', '') if isinstance(url, Mapping) else url})"
    raise TypeError("each content part must be an object")


def apply_chat_template(messages: Iterable[tuple[str, str]]) -> str:
    """A ChatML-style prompt (what Qwen's template renders), ending with the assistant's turn."""
    turns = [f"<|im_start|>{role}\n{content}<|im_end|>\n" for role, content in messages]
    return "".join(turns) + "<|im_start|>assistant\n"


def eos_token_for(model_id: str) -> str:
    """The end-of-sequence token text a model of that family emits."""
    lowered = model_id.lower()
    if "qwen" in lowered:
        return "<|im_end|>"
    if "llama-3" in lowered or "llama3" in lowered:
        return "<|eot_id|>"
    return "</s>"
