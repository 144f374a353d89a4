"""MMLU (cais/mmlu, all, test: 14,042 questions; dev for few-shot), in both multiple-choice modes.

As lm-eval's `mmlu` tasks: the subject line "The following are multiple choice questions (with answers)
about {subject}.\\n\\n", few-shot examples from the subject's dev rows (the first n, each followed by its
answer letter, separated by blank lines), then the question with `A.`–`D.` and `Answer:`; the continuations
are " A" … " D". The headline `acc` is the micro-average over questions (lm-eval's weighted group mean), with
breakdowns per subject and per category (STEM, humanities, social sciences, other: lm-eval's grouping).
Samples are spread over subjects in proportion. Default 5-shot (the number usually quoted); `mmlu:0shot`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from evalclient.errors import DatasetError
from evalclient.tasks.base import FewShot, HubSource, Sample
from evalclient.tasks.multiple_choice import MCDeclaration, MCItem, by_group, mc_task, mean_of
from evalclient.tasks.report_spec import ACC, ACCURACY, ReportSpec

LETTERS = ("A", "B", "C", "D")
CATEGORIES = {
    "stem": (
        "abstract_algebra anatomy astronomy college_biology college_chemistry college_computer_science "
        "college_mathematics college_physics computer_security conceptual_physics electrical_engineering "
        "elementary_mathematics high_school_biology high_school_chemistry high_school_computer_science "
        "high_school_mathematics high_school_physics high_school_statistics machine_learning"
    ),
    "humanities": (
        "formal_logic high_school_european_history high_school_us_history high_school_world_history "
        "international_law jurisprudence logical_fallacies moral_disputes moral_scenarios philosophy "
        "prehistory professional_law world_religions"
    ),
    "social_sciences": (
        "econometrics high_school_geography high_school_government_and_politics high_school_macroeconomics "
        "high_school_microeconomics high_school_psychology human_sexuality professional_psychology "
        "public_relations security_studies sociology us_foreign_policy"
    ),
    "other": (
        "business_ethics clinical_knowledge college_medicine global_facts human_aging management marketing "
        "medical_genetics miscellaneous nutrition professional_accounting professional_medicine virology"
    ),
}
CATEGORY_OF = {subject: category for category, names in CATEGORIES.items() for subject in names.split()}


def category_of(subject: str) -> str:
    if subject not in CATEGORY_OF:
        raise DatasetError(f"mmlu: unknown subject {subject!r}", "rows come from cais/mmlu (57 subjects)")
    return CATEGORY_OF[subject]


def _choices(row: Mapping[str, Any]) -> list[str]:
    choices = row.get("choices")
    if not isinstance(choices, list) or len(choices) != 4:
        raise DatasetError(
            "mmlu row: `choices` must be a list of 4 strings", "give rows in the cais/mmlu schema"
        )
    return [str(c) for c in choices]


def question_text(row: Mapping[str, Any]) -> str:
    """lm-eval's doc_to_text: the question, the four lettered choices, `Answer:`."""
    choices = _choices(row)
    listing = "".join(f"\n{letter}. {text}" for letter, text in zip(LETTERS, choices, strict=True))
    return f"{str(row['question']).strip()}{listing}\nAnswer:"


def subject_line(subject: str) -> str:
    return (
        f"The following are multiple choice questions (with answers) about {subject.replace('_', ' ')}.\n\n"
    )


def first_of_subject(
    pool: Sequence[Mapping[str, Any]], row: Mapping[str, Any], count: int
) -> list[Mapping[str, Any]]:
    """lm-eval's `first_n` sampler over the subject's dev rows."""
    same = [r for r in pool if r.get("subject") == row["subject"]][:count]
    if len(same) < count:
        raise DatasetError(
            f"mmlu: the dev split has {len(same)} rows of {row['subject']}; {count}-shot needs {count}",
            "give the whole dev split (mmlu.dev.jsonl beside mmlu.jsonl), or use mmlu:0shot",
        )
    return same


def mmlu_item(sample: Sample) -> MCItem:
    row = sample.row
    subject = str(row["subject"])
    shots = "".join(f"{question_text(s)} {LETTERS[int(s['answer'])]}\n\n" for s in sample.shots)
    gold = int(row["answer"])
    if not 0 <= gold < 4:
        raise DatasetError(f"mmlu row {sample.id}: answer {gold} is not 0–3")
    return MCItem(
        context=subject_line(subject) + shots + question_text(row),
        choices=LETTERS,
        gold=gold,
        question=shots + str(row["question"]).strip(),
        labels=LETTERS,
    )


def _generative_item(sample: Sample) -> MCItem:
    item = mmlu_item(sample)
    return MCItem(item.context, tuple(_choices(sample.row)), item.gold, item.question, LETTERS)


def _breakdown(key: str) -> Any:
    def metrics(samples: Sequence[Sample], verdicts: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        mean = mean_of(verdicts, "correct")
        subject = by_group(samples, verdicts, lambda s: str(s.row["subject"]), "correct")
        category = by_group(samples, verdicts, lambda s: category_of(str(s.row["subject"])), "correct")
        return {"accuracy": mean, key: mean, f"{key}_by_category": category, f"{key}_by_subject": subject}

    return metrics


MMLU_DECLARATION = MCDeclaration(
    name="mmlu",
    family="qa",
    source=HubSource(
        "cais/mmlu",
        "all",
        "test",
        "c30699e8356da336a370243923dbaf21066bb9fe",
        files=(
            ("test", ("all/test-00000-of-00001.parquet",)),
            ("dev", ("all/dev-00000-of-00001.parquet",)),
        ),
        rows=(("test", 14042), ("dev", 285)),
        cited='the commit c30699e ("Upload dataset"), whose README maps config all to all/<split>-*: 14,042 '
        "test and 285 dev questions",
    ),
    required_fields=("question", "subject", "choices", "answer"),
    item_of=mmlu_item,
    gen_item_of=_generative_item,
    intro="The following is a multiple choice question. Worked examples, where given, come first.",
    description="57 subjects of knowledge (14,042 in test); lm-eval's prompt, 5-shot by default; acc",
    report=ReportSpec((ACC, ACCURACY), "knowledge", chance=0.25),
    ll_metrics=_breakdown("acc"),
    gen_metrics=_breakdown("accuracy"),
    fewshot=FewShot("dev", first_of_subject),
    default_shots=5,
    stratify="subject",
)
MMLU = mc_task(MMLU_DECLARATION)
