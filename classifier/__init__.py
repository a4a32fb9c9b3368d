"""screenwise's models, numpy in and numpy out: relevance ranking, themes, the estimate of
relevant records left, simulation metrics, and artifacts written without pickle.

It imports neither ``index`` nor ``webapi``; arrays and ids are its whole interface.
"""

from classifier.estimate import RemainingEstimate, estimate_remaining
from classifier.features import CorpusFeatures
from classifier.metrics import recall_curve, screening_metrics
from classifier.ranking import question_scores, rank
from classifier.relevance import DEFAULT_SETTING, SETTINGS, RelevanceModel
from classifier.simulate import SimulationRun, draw_priors, simulate
from classifier.themes import ThemeModel

__all__ = [
    "DEFAULT_SETTING",
    "SETTINGS",
    "CorpusFeatures",
    "RelevanceModel",
    "RemainingEstimate",
    "SimulationRun",
    "ThemeModel",
    "draw_priors",
    "estimate_remaining",
    "question_scores",
    "rank",
    "recall_curve",
    "screening_metrics",
    "simulate",
]
