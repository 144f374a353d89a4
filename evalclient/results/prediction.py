"""One line of a combination's predictions file: written by the sweep, read by the reports, the repeats and
`evalclient score`. The line is `as_dict()`, keys in this order; `from_dict` reads one back
(`SampleOutput.from_prediction` turns it into the sample's output again).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PredictionRow:
    """A sample's answer as sent, its verdict, and every completion in full (`Completion.as_dict`)."""

    id: str
    response: str | None = None
    """The final answer's text; None when it failed."""
    reasoning: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    error: dict[str, Any] | None = None
    """The sample's failure: the solver's error, else its first failed request's."""
    score: dict[str, Any] = field(default_factory=dict)
    """The scorer's verdict."""
    completions: list[dict[str, Any]] = field(default_factory=list)
    solver_error: dict[str, Any] | None = None

    @property
    def answered(self) -> bool:
        return self.error is None and self.solver_error is None

    @property
    def answer(self) -> Any:
        return answer_of(self.response, self.score)

    def as_dict(self) -> dict[str, Any]:
        """The line as written."""
        return {
            "id": self.id,
            "response": self.response,
            "reasoning": self.reasoning,
            "tool_calls": self.tool_calls,
            "finish_reason": self.finish_reason,
            "error": self.error,
            "score": self.score,
            "completions": self.completions,
            "solver_error": self.solver_error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PredictionRow:
        """A stored line, its values as stored; a score that is no object reads as {}, absent lists as [].
        A line without `solver_error` (a checkpoint's, `SampleOutput.as_dict`) holds it under `error`."""
        score, completions = data.get("score"), data.get("completions")
        return cls(
            id=str(data.get("id")),
            response=data.get("response"),
            reasoning=data.get("reasoning"),
            tool_calls=data.get("tool_calls") or [],
            finish_reason=data.get("finish_reason"),
            error=data.get("error"),
            score=score if isinstance(score, dict) else {},
            completions=completions if isinstance(completions, list) else [],
            solver_error=data.get("solver_error", data.get("error")),
        )


def answer_of(response: Any, verdict: Mapping[str, Any]) -> Any:
    """The answer to compare between two askings: the text, and the choice a log-likelihood task picked."""
    return response, verdict.get("predicted"), verdict.get("predicted_norm")
