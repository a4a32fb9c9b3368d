"""The settings sweep of ``bench/screening.py`` runs, split by datasets A (settings chosen) and B
(confirmation): one markdown row per setting and split.

    python bench/sweep_table.py bench/out/screening-*.json

Reads every ``--json`` file given (several runs over different datasets or settings merge; a
later file's run of the same dataset, setting and seed wins) and prints, per split, the mean
over datasets of the mean over seeds of loss, WSS@95 and RRF@10 against ASReview elas_u4 on the
same datasets, the datasets with a lower loss than u4, and the largest RRF@10 drop below u4.
``--against SETTING`` compares with one of the files' screenwise settings instead (the runs of
``bench/screening.py --own-priors``, which have no ASReview runs).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._common import markdown_table

# bench/README.md: every other file of DATA/screening in alphabetical order.
A = [
    "Cohen_2006_ADHD",
    "Cohen_2006_AtypicalAntipsychotics",
    "Cohen_2006_CalciumChannelBlockers",
    "Cohen_2006_NSAIDS",
    "Cohen_2006_OralHypoglycemics",
    "Cohen_2006_SkeletalMuscleRelaxants",
    "Cohen_2006_UrinaryIncontinence",
]
B = [
    "Cohen_2006_Antihistamines",
    "Cohen_2006_BetaBlockers",
    "Cohen_2006_Estrogens",
    "Cohen_2006_Opiods",
    "Cohen_2006_ProtonPumpInhibitors",
    "Cohen_2006_Triptans",
    "Kitchenham_2010",
]


def _means(runs: list[dict]) -> dict[str, float]:
    return {m: float(np.mean([r["metrics"][m] for r in runs])) for m in ("loss", "wss95", "rrf10")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--splits", nargs="+", default=["A", "B", "all"])
    parser.add_argument(
        "--per-dataset", nargs="*", default=[], help="settings to table dataset by dataset"
    )
    parser.add_argument(
        "--against", default=None, help="compare with this screenwise setting instead of u4"
    )
    args = parser.parse_args(argv)
    asr: dict[tuple[str, int], dict] = {}
    ours: dict[tuple[str, str, int], dict] = {}
    settings: list[str] = []
    for path in args.files:
        data = json.loads(path.read_text())
        for run in data["asreview"]:
            asr[(run["dataset"], run["seed"])] = run
        for run in data["screenwise"]:
            ours[(run["setting"], run["dataset"], run["seed"])] = run
            if run["setting"] not in settings:
                settings.append(run["setting"])
    reference = "u4"
    if args.against:
        reference = args.against
        asr = {(d, seed): run for (s, d, seed), run in ours.items() if s == args.against}
        settings = [s for s in settings if s != args.against]
    groups = {"A": A, "B": B, "all": A + B}
    rows = []
    for split in args.splits:
        for setting in settings:
            per: dict[str, tuple[dict, dict]] = {}
            for name in groups[split]:
                mine = [r for (s, d, _), r in ours.items() if s == setting and d == name]
                theirs = [r for (d, _), r in asr.items() if d == name]
                if mine and theirs:
                    per[name] = (_means(mine), _means(theirs))
            if not per:
                continue
            sw = {m: np.mean([p[0][m] for p in per.values()]) for m in ("loss", "wss95", "rrf10")}
            u4 = {m: np.mean([p[1][m] for p in per.values()]) for m in ("loss", "wss95", "rrf10")}
            wins = sum(p[0]["loss"] < p[1]["loss"] for p in per.values())
            drop, where = max((p[1]["rrf10"] - p[0]["rrf10"], n) for n, p in per.items())
            rows.append(
                [
                    setting,
                    split,
                    len(per),
                    f"{sw['loss']:.4f} ({u4['loss']:.4f})",
                    f"{sw['wss95']:.1f} ({u4['wss95']:.1f})",
                    f"{sw['rrf10']:.1f} ({u4['rrf10']:.1f})",
                    f"{wins}/{len(per)}",
                    f"{drop:.1f} {where.removeprefix('Cohen_2006_')}",
                ]
            )
    headers = ["setting", "datasets", "n"]
    headers += [f"{m} ({reference})" for m in ("loss", "WSS@95", "RRF@10")]
    print(markdown_table([*headers, "loss wins", "max RRF@10 drop"], rows))
    for setting in args.per_dataset:
        table = []
        for name in A + B:
            mine = [r for (s, d, _), r in ours.items() if s == setting and d == name]
            theirs = [r for (d, _), r in asr.items() if d == name]
            if not mine or not theirs:
                continue
            sw, u4 = _means(mine), _means(theirs)
            table.append(
                [name, "A" if name in A else "B"]
                + [f"{u4[m]:.1f} / {sw[m]:.1f}" for m in ("rrf10", "wss95")]
                + [
                    f"{u4['loss']:.4f} / {sw['loss']:.4f}",
                    "sw" if sw["loss"] < u4["loss"] else reference,
                ]
            )
        print(f"\n{setting} ({reference} / screenwise, mean over seeds):\n")
        print(markdown_table(["dataset", "split", "RRF@10", "WSS@95", "loss", "loss win"], table))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
