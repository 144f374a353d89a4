"""Sanity flags of one combination, so that a misconfigured server that scores 0.000 "successfully" is
flagged, not ranked: accuracy at or below chance, more than 5% empty, truncated or unparseable answers, a
request error rate above 1%, GPU metrics missing, a partial run, preset knobs the engine did not apply,
fewer samples than asked (the dataset had fewer rows) and a server that served another model than the one
asked for. All but the GPU, the serving and the sample-count flags keep the combination out of every ranking
(best model, difficulty, Pareto set).
"""

from __future__ import annotations

from dataclasses import dataclass

from evalclient.report.chance import chance_level
from evalclient.report.headline import headline_of
from evalclient.report.tree import Combination

ANSWER_RATE_LIMIT = 0.05
ERROR_RATE_LIMIT = 0.01
_ANSWER_RATES = (
    ("empty_answer_rate", "num_empty", "empty"),
    ("truncated_rate", "num_truncated", "truncated"),
    ("unparseable_rate", "num_failed_parse", "unparseable"),
)


@dataclass(frozen=True)
class Flag:
    kind: str
    detail: str
    blocks_ranking: bool = True


def flags_of(combo: Combination) -> list[Flag]:
    """The sanity flags of a combination with a record (none for one without)."""
    record = combo.record
    if record is None:
        return []
    flags: list[Flag] = []
    if record.status == "partial":
        flags.append(Flag("partial", combo.reason or "some samples failed"))
    metrics = record.dataset_metrics
    n = record.num_samples
    headline = headline_of(combo.dataset, metrics)
    accuracy = metrics.get("accuracy")
    if record.status != "failed":
        if isinstance(accuracy, int | float):
            chance = chance_level(combo.dataset, combo.samples)
            if accuracy <= chance.level:
                flags.append(
                    Flag(
                        "at chance",
                        f"accuracy {accuracy:.3f} ≤ chance {chance.level:.3f} ({chance.source}), n={n}",
                    )
                )
        elif headline is not None and float(metrics[headline.metric]) <= 0:
            flags.append(Flag("at chance", f"{headline.metric} {metrics[headline.metric]:.3f} ≤ 0, n={n}"))
    for rate_name, count_name, what in _ANSWER_RATES:
        rate = metrics.get(rate_name)
        if isinstance(rate, int | float) and rate > ANSWER_RATE_LIMIT:
            flags.append(Flag("answers", f"{rate:.1%} {what} ({metrics.get(count_name)} of {n})"))
    flags.extend(_error_flags(combo))
    flags.extend(_gpu_flags(combo))
    flags.extend(_serving_flags(combo))
    flags.extend(_identity_flags(combo))
    return flags


def _identity_flags(combo: Combination) -> list[Flag]:
    """Fewer samples than asked, and another model served than the one asked for (an --endpoint)."""
    record = combo.record
    assert record is not None
    flags: list[Flag] = []
    if record.samples_requested is not None:
        flags.append(
            Flag(
                "fewer samples",
                f"{record.num_samples} of the {record.samples_requested} asked (the dataset has no more)",
                blocks_ranking=False,
            )
        )
    served = record.provenance.get("served_model")
    if isinstance(served, dict) and served.get("matches") is False:
        flags.append(Flag("another model served", f"the server served {served.get('model_id')}"))
    return flags


def ranked(combo: Combination) -> bool:
    """Whether the combination may be ranked: complete, and no flag but a missing GPU metric."""
    return combo.status == "complete" and not any(f.blocks_ranking for f in flags_of(combo))


def _error_flags(combo: Combination) -> list[Flag]:
    record = combo.record
    assert record is not None
    sample_rate = record.num_errors / record.num_samples if record.num_samples else 0.0
    perf = record.performance_metrics
    requests, errors = perf.get("num_requests"), perf.get("num_errors")
    request_rate = errors / requests if isinstance(requests, int) and requests and errors else 0.0
    if request_rate > ERROR_RATE_LIMIT:
        return [Flag("errors", f"request error rate {request_rate:.1%} ({errors} of {requests} requests)")]
    if sample_rate > ERROR_RATE_LIMIT:
        return [
            Flag(
                "errors",
                f"sample error rate {sample_rate:.1%} ({record.num_errors} of {record.num_samples} samples)",
            )
        ]
    return []


def _serving_flags(combo: Combination) -> list[Flag]:
    """Knobs of the preset the engine did not apply (a fallback path, an unsupported flag): the score is what
    the engine served, not what the preset's name says."""
    record = combo.record
    assert record is not None
    serving = record.provenance.get("serving")
    notes = (
        serving.get("substitutions") if isinstance(serving, dict) else record.provenance.get("substitutions")
    )
    if not notes or record.status == "failed":
        return []
    first = str(notes[0]).split(": ", 1)[-1]
    more = f" (and {len(notes) - 1} more)" if len(notes) > 1 else ""
    return [Flag("not as the preset says", f"{first}{more}", blocks_ranking=False)]


def _gpu_flags(combo: Combination) -> list[Flag]:
    record = combo.record
    assert record is not None
    missing = [
        name
        for name in ("gpu_utilization_percent", "gpu_memory_peak_gb")
        if record.performance_metrics.get(name) is None
    ]
    if not missing or record.status == "failed":
        return []
    why = record.performance_unavailable.get(missing[0], "no reason recorded")
    return [Flag("GPU metrics missing", why, blocks_ranking=False)]
