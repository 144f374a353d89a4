"""SGLang's native `/generate` for log-likelihood: `return_logprob` from the first prompt token, with the
top logprob per position (its OpenAI completions endpoint echoed no prompt logprobs before 2025, and its
`text_offset` is always -1). `meta_info.input_token_logprobs` holds `[logprob, token_id, text]` triples.
"""

from __future__ import annotations

from typing import Any

from evalclient.client.completion import TokenLogprob
from evalclient.client.protocols.base import as_object
from evalclient.client.protocols.loglikelihood import PromptLoglikelihood, ScoredPrompt
from evalclient.client.transport import Transport, malformed


class SGLangLoglikelihood(PromptLoglikelihood):
    """Prompt logprobs from SGLang's native API."""

    async def score_prompt(self, http: Transport, text: str, model: str) -> ScoredPrompt:
        body = {
            "text": text,
            "sampling_params": {"max_new_tokens": 1, "temperature": 0.0},
            "return_logprob": True,
            "logprob_start_len": 0,
            "top_logprobs_num": 1,
            "return_text_in_logprobs": True,
        }
        answer, _ = await http.post_json("/generate", body)
        meta = as_object(as_object(answer, "response").get("meta_info"), "meta_info")
        triples = meta.get("input_token_logprobs")
        if not isinstance(triples, list) or not triples:
            raise malformed("meta_info.input_token_logprobs is missing or empty")
        tops = meta.get("input_top_logprobs") or []
        tokens = [_token(t, tops[i] if i < len(tops) else None, i) for i, t in enumerate(triples)]
        generated = meta.get("completion_tokens")
        return ScoredPrompt(tokens, generated if isinstance(generated, int) else None)


def _token(triple: Any, top: Any, index: int) -> TokenLogprob:
    if not isinstance(triple, list) or len(triple) < 2:
        raise malformed(f"meta_info.input_token_logprobs[{index}] is not [logprob, id, text]")
    logprob, token_id = triple[0], triple[1]
    text = triple[2] if len(triple) > 2 and triple[2] is not None else str(token_id)
    pairs = None
    if isinstance(top, list) and top:
        pairs = tuple((str(t[2] if len(t) > 2 else t[1]), float(t[0])) for t in top if isinstance(t, list))
    return TokenLogprob(
        str(text),
        None if logprob is None else float(logprob),
        token_id if isinstance(token_id, int) else None,
        pairs,
    )
