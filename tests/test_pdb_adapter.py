"""The Participants Database adapter against generated pages of all three plugin markups."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest

from lettermon.errors import ParseError
from lettermon.models import ParsedPage
from lettermon.watch.sources.pdb import PdbAdapter, looks_like_pdb

from widget import (
    DEFAULT_PATH,
    FIELDS,
    Markup,
    challenge_page,
    make_signatories,
    render_page,
    render_signup_only_page,
)

SITE = "https://icrac.net"
BASE = SITE + DEFAULT_PATH
MARKUPS: list[Markup] = ["2019", "2020", "2022"]


def page_url(page: int, instance: int = 2) -> str:
    return BASE if page == 1 else f"{BASE}?listpage={page}&instance={instance}"


def parse(html: str, url: str = BASE) -> ParsedPage:
    return PdbAdapter().parse(html.encode("utf-8"), url)


def cleaned(row: dict[str, str]) -> dict[str, str]:
    return {name: " ".join(row.get(name, "").split()) for name, _ in FIELDS}


@pytest.mark.parametrize("markup", MARKUPS)
@pytest.mark.parametrize(
    ("total", "page", "last", "linked"),
    [
        (79, 1, 1, set()),
        (579, 1, 6, {2, 3, 4, 5, 6}),
        (579, 4, 6, {1, 2, 3, 5, 6}),
        (579, 6, 6, {1, 2, 3, 4, 5}),
        (1150, 1, 12, {2, 3, 4, 5, 12}),
        (1150, 7, 12, {1, 5, 6, 8, 9, 12}),
        (1150, 12, 12, {1, 8, 9, 10, 11}),
    ],
)
def test_reads_count_rows_and_pagination(markup: Markup, total: int, page: int, last: int,
                                          linked: set[int]) -> None:
    rows = make_signatories(total, seed=total)
    html = render_page(rows, page, markup=markup)
    parsed = parse(html, page_url(page))

    assert parsed.count == total
    assert parsed.per_page == 100
    assert parsed.page == page
    assert parsed.last_page == last
    assert [r.as_dict() for r in parsed.rows] == [
        cleaned(r) for r in rows[(page - 1) * 100: page * 100]]
    assert set(parsed.pages) == linked | {1, page}
    for number, url in parsed.pages.items():
        assert url == page_url(number)
    assert parsed.next_url == (page_url(page + 1) if page < last else None)
    if last > 1:
        assert parsed.page_url_template == f"{BASE}?listpage={{page}}&instance=2"


@pytest.mark.parametrize("markup", MARKUPS)
def test_template_builds_every_page_on_the_same_path(markup: Markup) -> None:
    rows = make_signatories(1150)
    parsed = parse(render_page(rows, 3, markup=markup), page_url(3))
    assert parsed.page_url_template is not None
    for n in range(2, 13):
        url = parsed.page_url_template.format(page=n)
        assert url == page_url(n)
        assert urlsplit(url).path == DEFAULT_PATH
        assert urlsplit(url).netloc == "icrac.net"


def test_page_past_the_end_shows_the_last_page() -> None:
    rows = make_signatories(1150)
    parsed = parse(render_page(rows, 40), page_url(40))
    assert parsed.page == 12
    assert parsed.last_page == 12
    assert parsed.next_url is None
    assert [r.as_dict() for r in parsed.rows] == [cleaned(r) for r in rows[1100:]]


def test_page_one_url_is_the_bare_path_even_when_fetched_with_a_query() -> None:
    parsed = parse(render_page(make_signatories(579)), f"{BASE}?listpage=1&instance=2")
    assert parsed.pages[1] == BASE
    assert parsed.next_url == page_url(2)


def test_a_shrunk_list_is_page_one_whatever_the_url_asked() -> None:
    parsed = parse(render_page(make_signatories(40)), page_url(3))
    assert parsed.page == 1
    assert parsed.last_page == 1
    assert parsed.next_url is None
    assert len(parsed.rows) == 40


def test_template_keeps_the_list_instance_and_other_parameters() -> None:
    path = "/?page_id=3712"
    rows = make_signatories(250)
    html = render_page(rows, 2, instance=3, path=path)
    parsed = parse(html, f"{SITE}/?page_id=3712&listpage=2&instance=3")
    assert parsed.page_url_template == f"{SITE}/?page_id=3712&listpage={{page}}&instance=3"
    assert parsed.pages[1] == f"{SITE}/?page_id=3712"
    assert parsed.next_url == f"{SITE}/?page_id=3712&listpage=3&instance=3"


def test_list_is_found_by_class_when_it_is_instance_one() -> None:
    rows = make_signatories(5, seed=9)
    parsed = parse(render_page(rows, instance=1))
    assert parsed.count == 5
    assert [r.as_dict() for r in parsed.rows] == [cleaned(r) for r in rows]


def test_empty_list_is_a_real_zero() -> None:
    html = render_page([])
    assert "list-count-zero" in html
    parsed = parse(html)
    assert parsed.count == 0
    assert parsed.rows == ()
    assert parsed.next_url is None


def test_rows_under_a_zero_caption_are_an_error() -> None:
    with pytest.raises(ParseError, match="says 0"):
        parse(render_page(make_signatories(3), count=0))


def test_a_count_without_rows_is_an_error() -> None:
    with pytest.raises(ParseError, match="no rows"):
        parse(render_page([], count=479))


@pytest.mark.parametrize("markup", MARKUPS)
def test_missing_caption_is_an_error_not_zero(markup: Markup) -> None:
    html = render_page(make_signatories(3), markup=markup)
    html = re.sub(r"<caption.*?</caption>", "", html, flags=re.DOTALL)
    with pytest.raises(ParseError, match="count caption not found"):
        parse(html)


def test_caption_without_a_number_is_an_error() -> None:
    html = render_page(make_signatories(3), caption="Signatures so far, many per page")
    with pytest.raises(ParseError, match="count caption not found"):
        parse(html)


@pytest.mark.parametrize("html", [render_signup_only_page(), challenge_page(),
                                  "<html><body><p>Moved</p></body></html>"])
def test_a_page_without_the_list_is_a_layout_error(html: str) -> None:
    assert not looks_like_pdb(html.encode())
    with pytest.raises(ParseError, match="no Participants Database list"):
        parse(html)


@pytest.mark.parametrize(
    ("caption", "thousands", "in_div"),
    [
        ("Total Signatures: {count}, showing {per_page} per page", ",", False),
        ("Total Signatures: {count}, showing {per_page} per page", ".", False),
        ("Unterschriften insgesamt: {count} ({per_page} pro Seite)", "\u00a0", False),
        ("Nombre de signatures : {count} – {per_page} par page", "\u2009", True),
        ("Signatures: {count}", " ", True),
        ("{count} personnes ont signé", "", False),
    ],
)
def test_caption_wording_and_separators(caption: str, thousands: str, in_div: bool) -> None:
    html = render_page(make_signatories(150), caption=caption, count=12345,
                       thousands=thousands, caption_in_div=in_div)
    parsed = parse(html)
    assert parsed.count == 12345
    assert parsed.per_page == (100 if "{per_page}" in caption else None)


def test_columns_are_mapped_by_class_not_position() -> None:
    columns = [("country", "Land"), ("fname", "Vorname"), ("affiliation", "Institution"),
               ("honorific", "Anrede")]
    rows = [{"fname": "Ada", "country": "UK", "affiliation": "Analytical Engines",
             "honorific": "Dr."},
            {"fname": "Grace", "country": "USA", "affiliation": "", "honorific": ""}]
    html = render_page(rows, columns=columns)
    # a theme adds generic classes to the header; one site reorders its cells
    html = html.replace('<th class="country"', '<th class="pdb-sortable country sortable"')
    html = html.replace(
        '<td class="country-field">\n  UK\n  </td>\n<td class="fname-field">\n  Ada\n  </td>',
        '<td class="fname-field">\n  Ada\n  </td>\n<td class="country-field">\n  UK\n  </td>')
    parsed = parse(html)
    assert [r.fields for r in parsed.rows] == [
        (("country", "UK"), ("fname", "Ada"), ("affiliation", "Analytical Engines"),
         ("honorific", "Dr.")),
        (("country", "USA"), ("fname", "Grace"), ("affiliation", ""), ("honorific", "")),
    ]


@pytest.mark.parametrize("markup", MARKUPS)
def test_hostile_values_are_kept_as_text(markup: Markup) -> None:
    rows = make_signatories(3000, seed=4)
    page_rows = rows[:100]
    hostile = [r for r in page_rows
               if any(c in v for v in r.values() for c in "@#&<\u200b🤖🔥מ")]
    assert len(hostile) >= 1  # the seed puts some on page 1
    parsed = parse(render_page(rows, markup=markup))
    assert [r.as_dict() for r in parsed.rows] == [cleaned(r) for r in page_rows]


@pytest.mark.parametrize("markup", MARKUPS)
def test_every_kind_of_hostile_value_survives(markup: Markup) -> None:
    values = ["@jack", "https://example.org/join?ref=letter&utm=1", "#NoRekognition",
              "Zoë 🤖", "مريم", "כהן", "Ali\u200b", "AT&T Labs", "R&D", "I <3 privacy",
              "a < b", "United Statqes", "  padded\u00a0 name\n"]
    rows = [{"first_name": v, "country": "USA"} for v in values]
    parsed = parse(render_page(rows, markup=markup))
    assert [r.as_dict()["first_name"] for r in parsed.rows] == [
        " ".join(v.split()) for v in values]


def test_raw_markup_characters_in_2019_do_not_lose_rows() -> None:
    rows = make_signatories(6, seed=2)
    rows[1]["last_name"] = "x<y and z"
    rows[2]["institution"] = "Smith <Jr"
    rows[3]["country"] = "A&B <b>bold"
    rows[4]["title"] = "Law & Order <3"
    parsed = parse(render_page(rows, markup="2019"))
    assert parsed.count == 6
    assert len(parsed.rows) == 6
    assert [r.as_dict()["first_name"] for r in parsed.rows] == [r["first_name"] for r in rows]
    assert parsed.rows[4].as_dict()["title"] == "Law & Order <3"


def test_two_identical_rows_are_both_kept() -> None:
    same = {"honorific": "Dr.", "first_name": "Sam", "last_name": "Lee", "country": "USA"}
    parsed = parse(render_page([same, dict(same), {"first_name": "Other"}]))
    assert len(parsed.rows) == 3
    assert parsed.rows[0] == parsed.rows[1]
    assert parsed.rows[0].fingerprint == parsed.rows[1].fingerprint
    assert parsed.rows[2].fingerprint != parsed.rows[0].fingerprint


def test_dropdown_and_link_cells_give_their_text() -> None:
    rows = [{"honorific": "Professor", "first_name": "Ada", "institution": "Warwick"}]
    html = render_page(rows).replace(
        "\n  Warwick\n", '\n  <a href="https://warwick.ac.uk/" rel="nofollow">Warwick</a>\n')
    assert '<span class="dropdown">Professor</span>' in html
    row = parse(html).rows[0].as_dict()
    assert row["honorific"] == "Professor"
    assert row["institution"] == "Warwick"


def test_title_is_the_letter_heading() -> None:
    parsed = parse(render_page(make_signatories(2)))
    assert parsed.title == ("Open Letter to Amazon against Police and Government use of "
                            "Rekognition")


def test_looks_like_pdb_on_a_list_page() -> None:
    assert looks_like_pdb(render_page(make_signatories(2)).encode())
