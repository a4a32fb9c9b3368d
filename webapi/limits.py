"""What one import or request may hold: kept apart from the service so that the app's
defaults (and the command line's --help) need no heavy import."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What one import or request may hold (app config ``MAX_IMPORT_RECORDS`` etc., or
    ``SCREENWISE_MAX_IMPORT_RECORDS`` in the environment)."""

    import_records: int = 250_000
    field_bytes: int = 100 * 1024  # title or abstract
    header_line_bytes: int = 64 * 1024  # the first line of a file (a CSV's header)
    reviewer_candidates: int = 200  # records per review-update request, for reviewers
    maintainer_candidates: int = 5_000
    reviewer_upload_bytes: int = 5 * 1024 * 1024  # review-update files, for reviewers
