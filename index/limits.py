"""The review protocol's search and its limits (years, languages), and where a record stands
against them.

A project keeps its protocol in its settings (``protocol``): the search string (and, optionally,
each database's own string and date) and the limits the searches were run with. A record is
*outside* the limits when a field it has breaks one (published before ``years_from`` or after
``years_to``, or in none of ``languages``); a record whose year or language is not known is not
outside on that account: it is *unknown* and stays to be screened. The status is computed from
the record's year and language each time it is asked for, so it follows the limits when they
change.

Records outside the limits that nobody has screened are excluded in one action by the automation
reviewer ``AUTOMATION_REVIEWER`` with the reason ``LIMITS_REASON`` (``Store.apply_limits``): an
imported-style ``prior`` decision, never a reviewer's, so that PRISMA counts them as removed
before screening and the models never learn from them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from .errors import ValidationError

AUTOMATION_REVIEWER = "automation:search-limits"
LIMITS_REASON = "outside search limits"
LimitStatus = Literal["within", "outside", "unknown"]

MIN_YEAR, MAX_YEAR = 1000, 2100
MAX_TEXT = 20000
MAX_SEARCHES = 50

# ISO 639-2 (bibliographic) codes of the languages bibliographic databases index most, with
# their ISO 639-1 codes, terminology codes, English names and a few native ones (accents
# folded). Anything else given as three
# letters is kept as it is (an ISO 639-2 code this table does not name).
_LANGUAGES: dict[str, tuple[str, ...]] = {
    "eng": ("en", "english"),
    "fre": ("fr", "fra", "french", "francais"),
    "ger": ("de", "deu", "german", "deutsch"),
    "spa": ("es", "spanish", "castilian", "espanol"),
    "ita": ("it", "italian", "italiano"),
    "por": ("pt", "portuguese", "portugues"),
    "dut": ("nl", "nld", "dutch", "flemish", "nederlands"),
    "rus": ("ru", "russian"),
    "chi": ("zh", "zho", "chinese", "mandarin"),
    "jpn": ("ja", "japanese"),
    "kor": ("ko", "korean"),
    "pol": ("pl", "polish"),
    "cze": ("cs", "ces", "czech"),
    "swe": ("sv", "swedish"),
    "dan": ("da", "danish"),
    "nor": ("no", "nb", "nn", "nob", "nno", "norwegian"),
    "fin": ("fi", "finnish"),
    "tur": ("tr", "turkish"),
    "gre": ("el", "ell", "greek", "modern greek"),
    "heb": ("he", "hebrew"),
    "ara": ("ar", "arabic"),
    "per": ("fa", "fas", "persian", "farsi"),
    "hun": ("hu", "hungarian"),
    "rum": ("ro", "ron", "romanian"),
    "ukr": ("uk", "ukrainian"),
    "srp": ("sr", "serbian"),
    "hrv": ("hr", "croatian"),
    "slv": ("sl", "slovenian"),
    "slo": ("sk", "slk", "slovak"),
    "bul": ("bg", "bulgarian"),
    "lit": ("lt", "lithuanian"),
    "ice": ("is", "isl", "icelandic"),
    "hin": ("hi", "hindi"),
    "tha": ("th", "thai"),
    "vie": ("vi", "vietnamese"),
    "ind": ("id", "indonesian"),
    "may": ("ms", "msa", "malay"),
    "afr": ("af", "afrikaans"),
    "cat": ("ca", "catalan"),
    "est": ("et", "estonian"),
    "lav": ("lv", "latvian"),
    "lat": ("la", "latin"),
}
_CODE_OF = {alias: code for code, aliases in _LANGUAGES.items() for alias in (code, *aliases)}
# Codes that say the language is not known: undetermined, multiple, none.
_UNKNOWN = frozenset({"und", "mul", "zxx", "unknown", "undetermined", "not stated"})
# Where a record's language is kept in its ``extra`` fields (the readers write "language";
# a CSV keeps its own column names).
LANGUAGE_KEYS = ("language", "la", "lang", "languageoforiginaldocument", "langid")
_SPLIT = re.compile(r"\s*[;,/|]\s*|\s+and\s+")


def normalise_language(value: str) -> str | None:
    """One language as its ISO 639-2 code ('English', 'en', 'ENG' -> 'eng'); ``None`` when
    it says nothing (empty, 'und', 'mul') or is no language this module knows."""
    folded = unicodedata.normalize("NFKD", value or "")
    folded = "".join(ch for ch in folded if not unicodedata.combining(ch)).strip().lower()
    folded = re.sub(r"\s+", " ", folded.strip(" .()[]"))
    if not folded or folded in _UNKNOWN:
        return None
    if folded in _CODE_OF:
        return _CODE_OF[folded]
    return folded if re.fullmatch(r"[a-z]{3}", folded) else None


def record_languages(extra: Mapping[str, Any] | None) -> list[str]:
    """The languages of a record from its ``extra`` fields, normalised, in order, distinct;
    empty when none is known."""
    if not extra:
        return []
    keys = {re.sub(r"[^a-z]", "", str(k).lower()): k for k in extra}
    out: list[str] = []
    for wanted in LANGUAGE_KEYS:
        if wanted in keys:
            for part in _SPLIT.split(str(extra[keys[wanted]])):
                code = normalise_language(part)
                if code and code not in out:
                    out.append(code)
            if out:
                break
    return out


@dataclass(frozen=True)
class SearchLimits:
    """The limits of a protocol: years (inclusive, either end open) and languages."""

    years_from: int | None = None
    years_to: int | None = None
    languages: tuple[str, ...] = ()

    @classmethod
    def of(cls, settings: Mapping[str, Any] | None) -> SearchLimits:
        """The limits in a project's settings (none: every record is within)."""
        protocol = (settings or {}).get("protocol") or {}
        return cls(
            protocol.get("years_from"),
            protocol.get("years_to"),
            tuple(protocol.get("languages") or ()),
        )

    @property
    def active(self) -> bool:
        return self.years_from is not None or self.years_to is not None or bool(self.languages)

    def check(self, year: int | None, languages: list[str]) -> Verdict:
        """Where a record of ``year`` in ``languages`` stands against these limits."""
        reasons: list[str] = []
        unknown: list[str] = []
        if self.years_from is not None or self.years_to is not None:
            if year is None:
                unknown.append("year")
            elif self.years_from is not None and year < self.years_from:
                reasons.append(f"published {year}, before {self.years_from}")
            elif self.years_to is not None and year > self.years_to:
                reasons.append(f"published {year}, after {self.years_to}")
        if self.languages:
            if not languages:
                unknown.append("language")
            elif not set(languages) & set(self.languages):
                reasons.append(f"language {', '.join(languages)}, not {', '.join(self.languages)}")
        status: LimitStatus = "outside" if reasons else "unknown" if unknown else "within"
        return Verdict(status, tuple(reasons), tuple(unknown))

    def check_record(self, record: Mapping[str, Any]) -> Verdict:
        """``check`` of a stored record (a dict with ``year`` and ``extra``)."""
        extra = record.get("extra")
        return self.check(record.get("year"), record_languages(extra if extra else {}))


@dataclass(frozen=True)
class Verdict:
    """A record against the limits: ``status``, what breaks them (``reasons``) and which
    limited fields the record does not give (``unknown``)."""

    status: LimitStatus
    reasons: tuple[str, ...] = ()
    unknown: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, Any]:
        return {"status": self.status, "reasons": list(self.reasons), "unknown": list(self.unknown)}


def checked_protocol(protocol: Any) -> dict[str, Any]:
    """A protocol as stored, or ``ValidationError`` naming the field (``protocol.years_from``):
    ``search_string`` (text), ``searches`` (a list of ``{database, string, date}``, the date
    ISO ``YYYY-MM-DD`` or empty), ``years_from`` / ``years_to`` (whole years, inclusive, from
    not after to) and ``languages`` (names or ISO 639 codes, stored as ISO 639-2 codes).
    ``None`` or ``{}``: no protocol."""
    if protocol is None:
        return {}
    if not isinstance(protocol, dict):
        raise ValidationError("protocol must be an object", field="protocol")
    known = {"search_string", "searches", "years_from", "years_to", "languages"}
    unknown = sorted(set(protocol) - known)
    if unknown:
        raise ValidationError(
            f"unknown protocol field(s): {', '.join(unknown)}; it takes {', '.join(sorted(known))}",
            field=f"protocol.{unknown[0]}",
        )
    out: dict[str, Any] = {}
    text = protocol.get("search_string")
    if text is not None:
        out["search_string"] = _text(text, "protocol.search_string")
    for name in ("years_from", "years_to"):
        year = protocol.get(name)
        if year is None or year == "":
            continue
        if isinstance(year, str) and year.strip().isdigit():
            year = int(year.strip())
        if isinstance(year, bool) or not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
            raise ValidationError(
                f"{name} must be a year between {MIN_YEAR} and {MAX_YEAR}, not {year!r}",
                field=f"protocol.{name}",
            )
        out[name] = year
    if "years_from" in out and "years_to" in out and out["years_from"] > out["years_to"]:
        raise ValidationError(
            f"years_from ({out['years_from']}) is after years_to ({out['years_to']})",
            field="protocol.years_to",
        )
    languages = protocol.get("languages")
    if languages is not None:
        if isinstance(languages, str):
            languages = [part for part in _SPLIT.split(languages) if part.strip()]
        if not isinstance(languages, list):
            raise ValidationError(
                "languages must be a list of languages", field="protocol.languages"
            )
        codes: list[str] = []
        for i, value in enumerate(languages):
            code = normalise_language(value) if isinstance(value, str) else None
            if code is None:
                raise ValidationError(
                    f"languages[{i}]: {value!r} is no language; give a name (English) or an "
                    "ISO 639 code (en, eng)",
                    field=f"protocol.languages[{i}]",
                )
            if code not in codes:
                codes.append(code)
        if codes:
            out["languages"] = codes
    searches = protocol.get("searches")
    if searches is not None:
        if not isinstance(searches, list) or len(searches) > MAX_SEARCHES:
            raise ValidationError(
                f"searches must be a list of at most {MAX_SEARCHES} searches",
                field="protocol.searches",
            )
        out_searches = []
        for i, search in enumerate(searches):
            where = f"protocol.searches[{i}]"
            if not isinstance(search, dict) or set(search) - {"database", "string", "date"}:
                raise ValidationError(f"searches[{i}] takes database, string and date", field=where)
            database = _text(search.get("database") or "", f"{where}.database").strip()
            if not database:
                raise ValidationError(f"searches[{i}] needs a database", field=f"{where}.database")
            when = _text(search.get("date") or "", f"{where}.date").strip()
            if when:
                try:
                    date.fromisoformat(when)
                except ValueError as e:
                    raise ValidationError(
                        f"searches[{i}].date must be a date YYYY-MM-DD, not {when!r}",
                        field=f"{where}.date",
                    ) from e
            out_searches.append(
                {
                    "database": database,
                    "string": _text(search.get("string") or "", f"{where}.string"),
                    "date": when,
                }
            )
        if out_searches:
            out["searches"] = out_searches
    return out


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise ValidationError(f"{where} must be a text of at most {MAX_TEXT} characters", where)
    return value


def is_limit_exclusion(decision: Mapping[str, Any] | None) -> bool:
    """Whether a decision is the automation's exclusion of a record outside the search limits
    (what PRISMA counts as removed before screening and no model learns from)."""
    return (
        decision is not None
        and decision.get("reviewer") == AUTOMATION_REVIEWER
        and decision.get("origin") == "prior"
        and decision.get("label") == "exclude"
    )
