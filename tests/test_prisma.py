import re
import xml.etree.ElementTree as ET

from webapi.prisma import PrismaCounts, render_png, render_svg

COUNTS = PrismaCounts(
    sources=(("medline.ris", 4200), ("psycinfo.ris", 2100), ("a" * 80 + ".ris", 1106)),
    duplicates_removed=1250,
    screened=6156,
    screening_excluded=5100,
    sought_for_retrieval=1056,
    not_retrieved=12,
    assessed=1044,
    fulltext_excluded={"wrong population": 200, "wrong study design": 181},
    included=663,
)


def svg_lines(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def n_of(lines: list[str], prefix: str) -> int:
    [line] = [line for line in lines if line.startswith(prefix)]
    return int(re.search(r"\(n = (\d+)\)", line).group(1))


def test_svg_numbers_equal_the_counts():
    lines = svg_lines(render_svg(COUNTS))
    assert n_of(lines, "Records identified") == 7406
    assert n_of(lines, "medline.ris") == 4200
    assert n_of(lines, "Duplicate records removed") == 1250
    assert n_of(lines, "Records screened") == 6156
    assert n_of(lines, "Records excluded") == 5100
    assert n_of(lines, "Reports sought for retrieval") == 1056
    assert n_of(lines, "Reports not retrieved") == 12
    assert n_of(lines, "Reports assessed for eligibility") == 1044
    assert n_of(lines, "Reports excluded") == 381
    assert n_of(lines, "wrong population") == 200
    assert n_of(lines, "Studies included in review") == 663
    assert any(line.startswith("a" * 40) and "…" in line for line in lines)


def test_png_is_an_image():
    assert render_png(COUNTS)[:8] == b"\x89PNG\r\n\x1a\n"
