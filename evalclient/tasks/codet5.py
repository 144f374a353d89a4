"""Code summarisation: CodeXGLUE code-to-text (google/code_x_glue_ct_code_to_text, python test by default;
`codet5:java` etc. pick the language), the benchmark CodeT5 reports smoothed BLEU-4 on.

The model sees the function's code tokens (the docstring removed, as CodeXGLUE feeds them) and is asked for a
one-line summary; the answer's first non-empty line is scored against the docstring tokens. `bleu_score` is
CodeXGLUE's smoothed BLEU-4 (its tokenisation and +1 smoothing, mean × 100); `rouge_scores` holds the mean
ROUGE-1/2/L F-measures (rouge-score, Porter stemming) × 100. `accuracy` is not defined for this task.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evalclient.client.completion import Completion
from evalclient.client.requests import RequestKind, Sampling
from evalclient.errors import DatasetError, UsageError
from evalclient.tasks.base import (
    HubSource,
    ModelHandle,
    Sample,
    SampleOutput,
    ScoreResult,
    TaskOptions,
    TaskSpec,
    off_loop,
)
from evalclient.tasks.quality import answer_quality
from evalclient.tasks.report_spec import Headline, ReportSpec
from evalclient.tasks.smoothed_bleu import corpus_bleu, sentence_bleu
from evalclient.tasks.text import answer_text, ask

LANGUAGES = ("python", "java", "javascript", "go", "php", "ruby")
REVISION = "87eae9979d842618e595029c495f1829cace5040"
TEST_ROWS = {"python": 14918, "java": 10955, "javascript": 3291, "go": 8122, "php": 14014, "ruby": 1261}
SAMPLING = Sampling(max_tokens=64)
PROMPT = (
    "Write a one-sentence summary of what this {language} function does, as the first line of its "
    "docstring. Reply with that sentence only.\n\n{code}"
)


def _tokens(row: Mapping[str, Any], name: str, sample_id: str) -> list[str]:
    tokens = row.get(name)
    if not isinstance(tokens, list) or not all(isinstance(t, str) for t in tokens):
        raise DatasetError(f"codet5 row {sample_id}: `{name}` must be a list of strings")
    return tokens


def reference(sample: Sample) -> str:
    """The gold summary as CodeXGLUE writes it: the docstring tokens joined by spaces, one line."""
    return " ".join(" ".join(_tokens(sample.row, "docstring_tokens", sample.id)).replace("\n", "").split())


def first_line(answer: str) -> str:
    """The first non-empty line of the answer, stripped."""
    return next((line.strip() for line in answer.splitlines() if line.strip()), "")


def _solver(language: str) -> Any:
    async def solve(sample: Sample, model: ModelHandle) -> list[Completion]:
        code = " ".join(_tokens(sample.row, "code_tokens", sample.id)).replace("\n", " ")
        return await ask(model, sample.id, PROMPT.format(language=language, code=code), SAMPLING)

    return solve


def score_now(samples: Sequence[Sample], outputs: Mapping[str, SampleOutput]) -> ScoreResult:
    from rouge_score import rouge_scorer

    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    verdicts: dict[str, dict[str, Any]] = {}
    pairs: list[tuple[str, str]] = []
    rouge = {"rouge1": 0.0, "rouge2": 0.0, "rougeL": 0.0}
    for sample in samples:
        answer = answer_text(outputs.get(sample.id))
        hypothesis = "" if answer is None else first_line(answer)
        gold = reference(sample)
        pairs.append((gold, hypothesis))
        scores = scorer.score(gold, hypothesis)
        for key in rouge:
            rouge[key] += scores[key].fmeasure
        verdicts[sample.id] = {
            "prediction": hypothesis,
            "reference": gold,
            "bleu": sentence_bleu(gold, hypothesis) * 100,
            "rougeL": scores["rougeL"].fmeasure * 100,
            "parsed": None if answer is None else bool(hypothesis),
        }
    total = len(samples)
    metrics: dict[str, Any] = {
        "bleu_score": corpus_bleu(pairs),
        "rouge_scores": {k: v * 100 / total for k, v in rouge.items()} if total else None,
        **answer_quality(samples, outputs, verdicts),
    }
    return ScoreResult(metrics, verdicts)


REPORT = ReportSpec((Headline("bleu_score", "bleu", binary=False, scale=100.0),), "code")
"""codet5 summarises code: it is compared with the code tasks."""


def codet5_task(options: TaskOptions | None = None) -> TaskSpec:
    options = options or TaskOptions()
    if options.mode is not None or options.num_fewshot:
        raise UsageError("codet5 takes a language only (e.g. codet5:java)")
    language = options.config or "python"
    if language not in LANGUAGES:
        raise UsageError(f"codet5 has no language {language!r}", f"languages: {', '.join(LANGUAGES)}")
    source = HubSource(
        "google/code_x_glue_ct_code_to_text",
        language,
        "test",
        REVISION,
        files=(("test", (f"{language}/test-00000-of-00001.parquet",)),),
        rows=(("test", TEST_ROWS[language]),),
        cited='the commit of "Convert dataset to Parquet (#5)" that deleted code_x_glue_ct_code_to_text.py '
        "(refs/pr/5; merged to main as 2678080); the python and java trees hold "
        "<language>/test-00000-of-00001"
        ".parquet; the test sizes are CodeXGLUE's (TFDS catalog code_x_glue_ct_code_to_text)",
    )
    return TaskSpec(
        name="codet5",
        family="summarization",
        source=source,
        required_fields=("code_tokens", "docstring_tokens"),
        solver=_solver(language),
        scorer=off_loop(score_now),
        request_kinds=frozenset({RequestKind.CHAT}),
        sampling=SAMPLING,
        description=f"CodeXGLUE code-to-text ({language}); CodeXGLUE's smoothed BLEU-4 and ROUGE",
        configure=codet5_task,
        report=REPORT,
    )


CODET5 = codet5_task()
