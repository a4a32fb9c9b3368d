"""screenwise's models, numpy in and numpy out: relevance ranking, themes, the estimate of
relevant records left, simulation metrics, and artifacts written without pickle.

It imports neither ``index`` nor ``webapi``; arrays and ids are its whole interface.
"""

# Each name is imported on first use (PEP 562), so that importing one module of the package
# (``classifier.artifacts`` for its error, say) does not load scipy and scikit-learn: the
# command line's ``--help`` stays fast.
_MODULES = {
    "RemainingEstimate": "estimate",
    "estimate_remaining": "estimate",
    "CorpusFeatures": "features",
    "recall_curve": "metrics",
    "screening_metrics": "metrics",
    "question_scores": "ranking",
    "rank": "ranking",
    "DEFAULT_SETTING": "relevance",
    "SETTINGS": "relevance",
    "RelevanceModel": "relevance",
    "SimulationRun": "simulate",
    "draw_priors": "simulate",
    "simulate": "simulate",
    "ThemeModel": "themes",
}

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


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module 'classifier' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"classifier.{_MODULES[name]}"), name)
