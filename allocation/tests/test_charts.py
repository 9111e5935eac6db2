"""The server-side SVG charts (allocation.charts): pure functions, so no database. Well-formed XML,
one bar per item, highlighted bars marked by more than colour, every text escaped, a text
alternative, and a drawing that scales to a 360 px phone."""

import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from fractions import Fraction

from django.conf import settings

from allocation.charts import WIDTH, Bar, Segment, bar_chart, budget_bar

SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises if the markup is not well-formed


def bars(root: ET.Element) -> list[ET.Element]:
    return [g for g in root.iter(f"{SVG}g") if "bar" in g.get("class", "").split()]


def chart(items, **kwargs):
    return bar_chart(items, chart_id=kwargs.pop("chart_id", "c1"), title="Votes", desc="Votes per project.", **kwargs)


def test_one_bar_per_item_in_order_with_highlighted_ones_marked():
    svg = chart(
        [
            Bar("A-01 Fountains", 12, "12", highlight=True, note="funded"),
            Bar("A-02 Trees", 9, "9"),
            Bar("A-03 Benches", 0, "0"),
        ]
    )
    root = parse(svg)
    found = bars(root)
    assert len(found) == 3
    assert [g.find(f"{SVG}title").text for g in found] == [
        "A-01 Fountains: 12 funded",
        "A-02 Trees: 9",
        "A-03 Benches: 0",
    ]
    assert [g.get("data-highlight") for g in found] == ["true", "false", "false"]
    assert found[0].get("class") == "bar highlight"
    texts = ["".join(t.itertext()) for t in found[0].iter(f"{SVG}text")]
    assert texts == ["A-01 Fountains", "12 funded ✓"]  # marked in words, not only by colour
    assert ["".join(t.itertext()) for t in found[1].iter(f"{SVG}text")] == ["A-02 Trees", "9"]
    widths = [float(g.find(f"{SVG}rect").get("width")) for g in found]
    assert widths[0] > widths[1] > widths[2] == 0
    assert abs(widths[1] / widths[0] - 9 / 12) < 0.01  # scaled to the largest value
    assert found[0].find(f"{SVG}rect").get("fill") != found[1].find(f"{SVG}rect").get("fill")


def test_the_chart_is_an_image_with_a_text_alternative():
    root = parse(bar_chart([Bar("x", 1, "1")], chart_id="votes-A", title="Votes in Ward A", desc="One bar."))
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == "votes-A-title votes-A-desc"
    assert root.find(f"{SVG}title").get("id") == "votes-A-title"
    assert root.find(f"{SVG}title").text == "Votes in Ward A"
    assert root.find(f"{SVG}desc").get("id") == "votes-A-desc" and root.find(f"{SVG}desc").text == "One bar."
    assert root.get("focusable") == "false"  # nothing inside to tab to: the table beside it has the data


def test_the_drawing_scales_to_a_phone():
    root = parse(chart([Bar(f"Project {n}", n, str(n)) for n in range(1, 6)]))
    assert root.get("width") == "100%" and root.get("height") is None
    _x, _y, width, height = (float(v) for v in root.get("viewBox").split())
    assert width == WIDTH and height >= 5 * 50
    # Sized by the results stylesheet, not an inline style (the content security policy forbids those).
    assert root.get("style") is None and "chart" in root.get("class").split()
    css = (settings.BASE_DIR / "static" / "css" / "results.css").read_text()
    assert re.search(r"svg\.chart \{[^}]*max-width: 32rem;[^}]*height: auto;", css)
    for rect in root.iter(f"{SVG}rect"):  # nothing drawn outside the view box
        assert float(rect.get("x")) + float(rect.get("width")) <= WIDTH


def test_every_text_is_escaped():
    nasty = '<script>alert("x")</script> & "quotes"'
    svg = bar_chart(
        [Bar(nasty, 3, "<b>3</b>", highlight=True, note="<i>")],
        chart_id='c"><script>',
        title=nasty,
        desc=nasty,
    )
    assert "<script>" not in svg and "<b>" not in svg and "<i>" not in svg
    root = parse(svg)  # still well-formed
    assert root.find(f"{SVG}title").text == nasty
    assert nasty[:20] in "".join(root.itertext())


def test_long_labels_are_cut_in_the_drawing_but_whole_in_the_tooltip():
    label = "A-01 " + "A very long project title about many drinking fountains " * 3
    found = bars(parse(chart([Bar(label, 1, "1")])))
    drawn = "".join(next(found[0].iter(f"{SVG}text")).itertext())
    assert drawn.endswith("…") and len(drawn) <= 42
    assert found[0].find(f"{SVG}title").text.startswith(" ".join(label.split()[:5]))


def test_exact_and_decimal_values_and_an_empty_chart():
    found = bars(parse(chart([Bar("a", Fraction(7, 2), "3.50"), Bar("b", Decimal("1.75"), "1.75")])))
    widths = [float(g.find(f"{SVG}rect").get("width")) for g in found]
    assert abs(widths[1] / widths[0] - 0.5) < 0.01
    empty = parse(chart([]))
    assert bars(empty) == [] and empty.find(f"{SVG}title").text == "Votes"
    zeros = bars(parse(chart([Bar("a", 0, "0"), Bar("b", 0, "0")])))
    assert [float(g.find(f"{SVG}rect").get("width")) for g in zeros] == [0, 0]


def test_the_budget_bar_has_a_segment_per_funded_project_and_says_what_is_left():
    svg = budget_bar(
        budget=Decimal("50000"),
        segments=[Segment("A-01: $42,000", Decimal("42000")), Segment("A-03: $5,000", Decimal("5000"))],
        used_text="Used: $47,000 of $50,000",
        left_text="Left: $3,000",
        chart_id="budget",
        title="Budget of Ward A",
        desc="Used: $47,000 of $50,000. Left: $3,000.",
    )
    root = parse(svg)
    used = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "budget-used"]
    assert [r.find(f"{SVG}title").text for r in used] == ["A-01: $42,000", "A-03: $5,000"]
    total = next(r for r in root.iter(f"{SVG}rect") if r.get("class") == "budget-total")
    widths = [float(r.get("width")) for r in used]
    assert abs(sum(widths) / float(total.get("width")) - 47000 / 50000) < 0.01
    assert float(used[1].get("x")) > float(used[0].get("x"))  # side by side
    assert ["".join(t.itertext()) for t in root.iter(f"{SVG}text")] == ["Used: $47,000 of $50,000", "Left: $3,000"]
    assert root.get("role") == "img" and root.get("aria-labelledby") == "budget-title budget-desc"
    assert re.fullmatch(r"0 0 \d+ \d+", root.get("viewBox"))


def test_a_zero_budget_draws_no_used_segment():
    root = parse(
        budget_bar(
            budget=0, segments=[Segment("x", 0)], used_text="u", left_text="l", chart_id="b", title="t", desc="d"
        )
    )
    assert [r for r in root.iter(f"{SVG}rect") if r.get("class") == "budget-used"] == []
