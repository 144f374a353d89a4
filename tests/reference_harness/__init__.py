"""Reference implementations the tests check evalclient's metrics against, run for real.

alpaca_eval 0.6.6 is installed by `make install` (without its dependencies: it would pull an OpenAI client
and `datasets`) into `.venv/reference`; `alpaca_eval_metrics()` imports its metrics package from there. Its
package `__init__` (which loads its OpenAI-facing main module) is never run, and `datasets` (only used there
for a type and an isinstance check), where it is not installed, is stood in for by an empty module.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
import warnings
from pathlib import Path
from typing import Any
from unittest import mock

REFERENCE_DIR = Path(sys.prefix) / "reference"
ALPACA_EVAL_VERSION = "0.6.6"


def alpaca_eval_metrics() -> Any:
    """alpaca_eval.metrics (get_winrate, get_length_controlled_winrate, glm_winrate) as alpaca_eval 0.6.6
    ships it."""
    root = REFERENCE_DIR / "alpaca_eval"
    if not (root / "metrics" / "glm_winrate.py").is_file():
        raise RuntimeError(
            f"alpaca_eval {ALPACA_EVAL_VERSION} is not in {REFERENCE_DIR}: run `make install` (or pip "
            f"install --no-deps --target {REFERENCE_DIR} alpaca-eval=={ALPACA_EVAL_VERSION})"
        )
    if "alpaca_eval.metrics" not in sys.modules:
        if importlib.util.find_spec("datasets") is None:
            stand_in = types.ModuleType("datasets")
            stand_in.Dataset = type("Dataset", (), {})  # type: ignore[attr-defined]
            sys.modules["datasets"] = stand_in
        package = types.ModuleType("alpaca_eval")
        package.__path__ = [str(root)]
        package.__version__ = ALPACA_EVAL_VERSION  # type: ignore[attr-defined]
        sys.modules["alpaca_eval"] = package
    return importlib.import_module("alpaca_eval.metrics")


def alpaca_eval_length_controlled(annotations: list[dict[str, Any]], gamed_csv: Path) -> dict[str, Any]:
    """alpaca_eval's get_length_controlled_winrate on `annotations` (each: index, output_1 the baseline's,
    output_2 the model's, preference in [1, 2] or NaN, generator_1, generator_2, annotator), its df_gamed.csv
    download answered with `gamed_csv`, no weights saved."""
    import pandas as pd

    glm = alpaca_eval_metrics().glm_winrate
    # alpaca_eval 0.6.6 passes LogisticRegressionCV arguments scikit-learn 1.8+ deprecates (penalty="l1"):
    # the fit is the same, the warnings are not ours
    with (
        mock.patch.object(glm, "hf_hub_download", return_value=str(gamed_csv)),
        warnings.catch_warnings(action="ignore", category=FutureWarning),
    ):
        metrics: dict[str, Any] = glm.get_length_controlled_winrate(
            pd.DataFrame(annotations), save_weights_dir=None
        )
    return metrics


def alpaca_eval_shown_first(pairs: list[tuple[str, str, str]]) -> list[str]:
    """For each (instruction, baseline output, model output): the output alpaca_eval's pairwise annotator
    shows the judge as output_1, after its RandomSwitchTwoColumnsProcessor as PairwiseAnnotator configures
    it (seeded on the instruction, switch column `is_switched_outputs`, the annotator's seed 0)."""
    import pandas as pd

    alpaca_eval_metrics()
    processors = importlib.import_module("alpaca_eval.processors")
    switch = processors.RandomSwitchTwoColumnsProcessor(
        two_columns_to_switch=["output_1", "output_2"],
        random_seed_columns=["instruction"],
        _switch_column="is_switched_outputs",
        seed=0,
    )
    frame = pd.DataFrame(pairs, columns=["instruction", "output_1", "output_2"])
    return [str(v) for v in switch.preprocess(frame)["output_1"]]


ALPACA_EVAL_TEMPLATES = {
    "weighted_alpaca_eval_gpt4_turbo": "alpaca_eval_clf_gpt4_turbo/alpaca_eval_clf.txt",
    "alpaca_eval_gpt4": "alpaca_eval_gpt4/alpaca_eval.txt",
}


def alpaca_eval_template(annotator: str) -> str:
    """The annotator's prompt template file as alpaca_eval ships it."""
    return (
        REFERENCE_DIR / "alpaca_eval" / "evaluators_configs" / ALPACA_EVAL_TEMPLATES[annotator]
    ).read_text()


def alpaca_eval_judge_messages(annotator: str, instruction: str, output_1: str, output_2: str) -> list[Any]:
    """The chat messages alpaca_eval sends the annotator for one pair (utils.make_prompts, then
    utils.prompt_to_chatml)."""
    import pandas as pd

    alpaca_eval_metrics()
    utils = importlib.import_module("alpaca_eval.utils")
    frame = pd.DataFrame([{"instruction": instruction, "output_1": output_1, "output_2": output_2}])
    [prompt], _ = utils.make_prompts(frame, alpaca_eval_template(annotator))
    return list(utils.prompt_to_chatml(prompt))
