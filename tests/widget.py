"""Builds realistic Participants Database ("pdb") list pages for tests.

The markup follows the plugin's list template and pagination as they appeared in three eras:

* ``"2019"`` (1.9.x): plain text is not HTML-escaped, some tags carry a space before ``>``,
  the pagination wrapper is ``<div class="pagination pdb-pagination ">``.
* ``"2020"``: the list sits in ``<div data-action="pdb_list_filter" ...>`` closed by the
  malformed ``</div data-action="pdb_list_filter">``.
* ``"2022"``: the same with a plain ``</div>``.

Pagination mirrors the plugin: Previous/Next/First/Last carry an icon and a ``title`` only,
Previous and Next both have class ``nextpage``, First/Last appear when there are more than 5
pages, a sliding window of 5 numbers, disabled controls are ``<li class="disabled"><span>``.
The current page is ``<li class="active currentpage"><span>N</span></li>`` (``"2019"``:
``<li class="currentpage"><span>N</span></li>``): no anchor and no ``data-page``.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from html import escape
from typing import Literal

Markup = Literal["2019", "2020", "2022"]

FIELDS: tuple[tuple[str, str], ...] = (
    ("honorific", "Honorific"),
    ("first_name", "First Name"),
    ("last_name", "Last Name"),
    ("title", "Title"),
    ("department", "Department"),
    ("institution", "Institution"),
    ("country", "Country"),
)
"""The default columns: (field name, column title), as on the Rekognition letter."""

DEFAULT_PATH = "/open-letter-to-amazon-against-police-and-government-use-of-rekognition/"

_HONORIFICS = ("", "", "", "Dr.", "Dr", "Professor", "Prof.", "Prof", "Ms.", "Ms", "Mr.",
               "Mr", "Mrs.", "Miss", "PhD", "Prof Dr", "MR", "professor")
_FIRST = ("Anna", "Ben", "Carla", "David", "Elena", "Farid", "Grace", "Hiroshi", "Ines",
          "Jonas", "Karin", "Luis", "Maria", "Nikhil", "Olga", "Pedro", "Quinn", "Rosa",
          "Samir", "Tamar", "Ulrich", "Vera", "Wen", "Ximena", "Yusuf", "Zofia", "Aoife",
          "Bjørn", "Chloé", "Dmitri", "Esra", "François", "Gökhan", "Hana", "Ibrahim",
          "José", "Kwame", "Lena", "Mei", "Noor", "Oscar", "Priya", "Rafael", "Sven",
          "Thandiwe", "Uma", "Viktor", "William", "Yara", "Zainab", "sara", "marc", "M.",
          "Mary Ann", "Jean-Luc", "Ana Lucía")
_LAST = ("Smith", "Garcia", "Müller", "Nguyen", "Kowalski", "O'Brien", "Rossi", "Tanaka",
         "Okafor", "Johansson", "Dubois", "Silva", "Kim", "Cohen", "Haddad", "Novak",
         "Fernández", "Schmidt", "Ó Briain", "van der Berg", "de la Cruz", "Petrov",
         "Andersen", "Yilmaz", "Chen", "Patel", "Mensah", "Larsen", "Moreau", "Brown",
         "Wilson", "Ivanova", "Sato", "Herrmann", "Lindqvist", "Costa", "Abara", "Weiss",
         "Park", "Hughes", "jones", "MACDONALD", "Nakamura", "Ortega", "Quispe", "Reyes")
_TITLES = ("", "", "", "Professor", "Associate Professor", "Assistant Professor",
           "Lecturer", "Senior Lecturer", "PhD Candidate", "PhD Student", "Postdoc",
           "Research Associate", "Student", "Graduate Student", "Professor Emeritus",
           "Director", "Software Engineer", "Editor", "Teacher", "Instructor",
           "Chief Technology Officer", "Researcher", "Full professor", "Professot")
_DEPARTMENTS = ("", "", "", "", "Computer Science", "Anthropology", "Philosophy", "History",
                "Sociology", "Law", "Communication", "Media Studies", "Mathematics",
                "Information & Computer Science", "Science and Technology Studies",
                "Electrical and Computer Engineering", "School of Law", "Geography",
                "Human Centered Design And Engineering", "Women's and Gender Studies",
                "Math & CS", "Neuroscience and Psychology", "Linguistics")
_INSTITUTIONS = ("", "", "", "University of Warwick", "Harvard University",
                 "Stanford University", "University of Toronto", "UC Davis", "UCLA",
                 "University of Washington", "Monash University", "TU Delft",
                 "Aarhus University", "Aarhus Univetsity", "LSE", "York University",
                 "University of Edinburgh", "IT University of Copenhagen", "Self-employed",
                 "Universidade de São Paulo", "Paderborn University", "Accenture",
                 "University of Illinois at Chicago", "The New School", "Uni of Toronto",
                 "Eindhoven University of Technology", "Ministério Público Federal")
_COUNTRIES = ("USA", "USA", "United States", "United States", "US", "U.S.A.", "Canada",
              "UK", "United Kingdom", "Germany", "Australia", "Denmark", "Netherlands",
              "The Netherlands", "Brazil", "India", "Spain", "Ireland", "Italy", "China",
              "France", "Japan", "", "United Statqes", "Republic of Fenerbahce")

_HOSTILE: tuple[tuple[str, str], ...] = (
    ("first_name", "@jack"),
    ("last_name", "Smith @AmazonNews"),
    ("institution", "https://example.org/join?ref=letter&utm=1"),
    ("institution", "example.com"),
    ("department", "#NoRekognition #ai"),
    ("first_name", "Zoë 🤖"),
    ("last_name", "🔥🔥🔥"),
    ("first_name", "مريم"),
    ("last_name", "כהן"),
    ("first_name", "Ali\u200b"),
    ("last_name", "Ro\u200dss\u200f"),
    ("institution", "AT&T Labs"),
    ("department", "R&D"),
    ("title", "I <3 privacy"),
    ("title", "a < b"),
    ("country", "Untied Sates"),
    ("first_name", "Jonh"),
    ("institution", "Procter&Gamble"),
)
"""Values people really type. Raw ``&`` and ``<`` are chosen so that an unescaped 2019 page
still shows them as the same text in a browser (``<3``, ``a < b``, ``AT&T``)."""


def make_signatories(n: int, seed: int = 0) -> list[dict[str, str]]:
    """Return ``n`` realistic signatory rows, the same for the same ``seed``.

    About 2% of the rows carry one hostile value (mentions, links, hashtags, emoji,
    right-to-left and zero-width characters, raw ``&`` and ``<``, typos).
    """
    rng = random.Random(seed)
    cols = (
        rng.choices(_HONORIFICS, k=n),
        rng.choices(_FIRST, k=n),
        rng.choices(_LAST, k=n),
        rng.choices(_TITLES, k=n),
        rng.choices(_DEPARTMENTS, k=n),
        rng.choices(_INSTITUTIONS, k=n),
        rng.choices(_COUNTRIES, k=n),
    )
    names = tuple(name for name, _ in FIELDS)
    rows = [dict(zip(names, values, strict=True)) for values in zip(*cols, strict=True)]
    for i in rng.sample(range(n), n // 50):
        field, value = _HOSTILE[i % len(_HOSTILE)]
        rows[i][field] = value
    return rows


def _count_text(count: int, thousands: str) -> str:
    return f"{count:,}".replace(",", thousands)


def _caption(count: int, per_page: int, template: str, thousands: str, in_div: bool) -> str:
    text = template.format(count=_count_text(count, thousands),
                           per_page=_count_text(per_page, thousands))
    classes = "pdb-list-count list-count-zero" if count == 0 else "pdb-list-count"
    span = f'<span class="list-display-count">{text}</span>'
    if in_div:
        return f'<caption><div class="{classes}">{span}</div></caption>'
    return f'<caption class="{classes}">{span}</caption>'


def _page_href(path: str, page: int, instance: int) -> str:
    if page == 1:
        return path
    joiner = "&amp;" if "?" in path else "?"
    return f"{path}{joiner}listpage={page}&amp;instance={instance}"


def _pagination(page: int, total_pages: int, path: str, instance: int, markup: Markup) -> str:
    """The plugin's pagination block, or "" when everything fits on one page."""
    if total_pages <= 1:
        return ""
    sp = " " if markup == "2019" else ""
    start, end = 1, total_pages
    if total_pages > 5:
        if page <= 3:
            start, end = 1, 5
        elif page >= total_pages - 2:
            start, end = total_pages - 4, total_pages
        else:
            start, end = page - 2, page + 2

    def glyph(enabled: bool, cls: str, title: str, icon: str, target: int) -> str:
        if not enabled:
            return (f'<li class="disabled"><span><span title="{title}" '
                    f'class="glyphicon glyphicon-{icon}"></span></span></li> ')
        return (f'<li class="{cls}"><a title="{title}" href="{_page_href(path, target, instance)}"'
                f' data-page="{target}"{sp}><span class="glyphicon glyphicon-{icon}"></span></a>'
                "</li>")

    out: list[str] = []
    first_last = total_pages > 5
    if first_last:
        out.append(glyph(page > 1, "firstpage", "First", "first-page", 1))
    out.append(glyph(page > 1, "nextpage", "Previous", "previous-page", page - 1))
    current = "currentpage" if markup == "2019" else "active currentpage"
    for i in range(start, end + 1):
        if i == page:
            out.append(f'<li class="{current}"><span>{i}</span></li> ')
        else:
            out.append(f'<li class=""><a href="{_page_href(path, i, instance)}" '
                       f'data-page="{i}"{sp}>{i}</a></li>')
    out.append(glyph(page < total_pages, "nextpage", "Next", "next-page", page + 1))
    if first_last:
        out.append(glyph(page < total_pages, "lastpage", "Last", "last-page", total_pages))
    wrap = ("pagination pdb-pagination " if markup == "2019"
            else "pagination pdb-pagination pagination-large pagination-centered")
    return f'<div class="{wrap}"><ul>{"".join(out)}</ul></div>'


def _table(rows: Sequence[Mapping[str, str]], columns: Sequence[tuple[str, str]],
           caption: str, markup: Markup) -> str:
    sp = " " if markup == "2019" else ""
    esc = (lambda s: s) if markup == "2019" else (lambda s: escape(s, quote=False))
    parts = [f'<table class="wp-list-table widefat fixed pages list-container" '
             f'cellspacing="0"{sp}>\n', caption, "\n"]
    if rows:
        parts.append("<thead>\n<tr>\n")
        parts.extend(f'<th class="{name}" scope="col"{sp}>\n{esc(title)}\n</th>\n'
                     for name, title in columns)
        parts.append("</tr>\n</thead>\n<tbody>\n")
        cells = [(name, f'<td class="{name}-field"{sp}>\n  ',
                  "\n  </td>\n" if name != "honorific" else "</span>\n  </td>\n")
                 for name, _ in columns]
        for row in rows:
            parts.append("<tr>\n")
            for name, open_td, close_td in cells:
                value = esc(row.get(name, ""))
                if name == "honorific":
                    parts.append(f'{open_td}<span class="dropdown">{value}{close_td}')
                else:
                    parts.append(f"{open_td}{value}{close_td}")
            parts.append("</tr>\n")
        parts.append("</tbody>\n")
    else:
        parts.append("<tbody>\n<tr>\n<td>\n</td>\n</tr>\n</tbody>\n")
    parts.append("</table>\n")
    return "".join(parts)


_HEAD = """<!DOCTYPE html>
<html lang="en-US">
<head>
<meta charset="UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} &#8211; ICRAC</title>
<link rel="stylesheet" id="wp-block-library-css"
href="/wp-includes/css/dist/block-library/style.min.css?ver=5.2.2" type="text/css" media="all">
<link rel="stylesheet" id="pdb-frontend-css"
href="/wp-content/plugins/participants-database/css/participants-database.css?ver=1.9"
type="text/css" media="all">
<script type="text/javascript" src="/wp-includes/js/jquery/jquery.js?ver=1.12.4"></script>
<script type="text/javascript">
/* <![CDATA[ */
var PDb_ajax = {{"ajaxurl":"\\/wp-admin\\/admin-ajax.php","filterNonce":"0a1b2c3d4e",
"postID":3712,"prefix":"pdb-","loading_indicator":"<span class=\\"ajax-loading\\"><\\/span>"}};
if (1 < 2 && window.jQuery) {{ jQuery(function ($) {{ $(".pdb-list").addClass("ready"); }}); }}
/* ]]> */
</script>
</head>
<body class="page-template-default page page-id-3712">
<div id="page" class="site">
<header id="masthead" class="site-header"><p class="site-title"><a href="/" rel="home">ICRAC</a></p>
<nav id="site-navigation" class="main-navigation"><ul id="primary-menu" class="menu">
<li><a href="/about/">About</a></li><li><a href="/statements/">Statements</a></li>
<li><a href="/events/">Events</a></li><li><a href="/contact/">Contact</a></li></ul></nav>
</header>
<div id="content" class="site-content"><main id="main" class="site-main">
<article id="post-3712" class="post-3712 page type-page status-publish hentry">
<header class="entry-header"><h1 class="entry-title">{title}</h1></header>
<div class="entry-content">
<p><strong>Researchers in Support of Amazon Employees: Amazon should not sell face recognition
technologies to police, government or intermediaries.</strong></p>
<p>An Open Letter to the founder of Amazon and to the heads of artificial intelligence at
Amazon Web Services (AWS).</p>
<p>As academics who study, teach about and build information technologies, we write in
solidarity with Amazon workers and shareholders and with a coalition of civil and human rights
groups who urge Amazon to stop selling its Rekognition face recognition product to police
departments and government agencies.</p>
<p>Face recognition is an unprecedented threat to privacy and civil liberties. Studies of
deployed systems have shown low accuracy, and even an accurate, ubiquitous tracking system is
a grave threat to society. &#8220;No reported abuse&#8221; is not a sufficient answer when
no reporting system exists.</p>
<p>We thus call upon Amazon to:</p>
<ul>
<li>Stop supplying government and law enforcement agencies with face recognition technology.</li>
<li>Cancel cloud contracts with intermediaries that provide analytics to police or militaries.</li>
<li>Establish ethical guidelines, transparency and accountability mechanisms.</li>
</ul>
<h3>Add Your Signature to this Letter:</h3>
"""

_SIGNUP = """<div class="wrap pdb-signup pdb-instance-{instance}
participants-database" id="participants-signup-{instance}">
<form method="post" enctype="multipart/form-data" autocomplete="off" action="{path}">
<input type="hidden" name="action" value="signup">
<input type="hidden" name="subsource" value="participants-database">
<input type="hidden" name="shortcode_page" value="{path}">
<input type="hidden" name="thanks_page" value="{path}">
<input type="hidden" name="instance_index" value="{instance}">
<input type="hidden" name="pdb_data_keys" value="3.4.5.6.7.8.9">
<table class="form-table pdb-signup">
<tbody class="field-group field-group-main">
<tr class="dropdown-field honorific-field"><th for="honorific">Honorific</th>
<td id="honorific-field">
<select name="honorific" id="honorific-select"><option value="">Choose</option>
<option value="Dr.">Dr.</option><option value="Professor">Professor</option>
<option value="Ms.">Ms.</option><option value="Mr.">Mr.</option></select></td></tr>
<tr class="text-line-field first_name-field"><th for="first_name">First Name</th>
<td id="first_name-field">
<input type="text" name="first_name" id="first_name" value="" class="regular-text required-field">
</td></tr>
<tr class="text-line-field last_name-field"><th for="last_name">Last Name</th>
<td id="last_name-field">
<input type="text" name="last_name" id="last_name" value="" class="regular-text required-field">
</td></tr>
<tr class="text-line-field email-field"><th for="email">Email</th><td id="email-field">
<input type="text" name="email" id="email" value="">
<span class="helptext">Your e-mail is not published. 1,000 thanks!</span></td></tr>
<tr class="text-line-field institution-field"><th for="institution">Institution</th>
<td id="institution-field"><input type="text" name="institution" id="institution" value=""></td>
</tr>
<tr class="text-line-field country-field"><th for="country">Country</th><td id="country-field">
<input type="text" name="country" id="country" value=""></td></tr>
</tbody>
<tbody class="field-group field-group-submit"><tr><td class="submit-buttons" colspan="2">
<input class="button-primary" type="submit" value="Sign the letter" name="submit_button"></td>
</tr></tbody>
</table>
</form>
</div>
"""

_SIDEBAR = """</div></article></main>
<aside id="secondary" class="widget-area">
<section class="widget widget_twitter"><h2 class="widget-title">ICRAC Tweets</h2>
<ul class="tweets">
<li class="tweet">It's out! The thesis is online: 100K words on autonomous weapons and stability.
<a href="https://t.co/xYz12">https://t.co/xYz12</a></li>
<li class="tweet">RT <a href="https://twitter.com/icracnet">@icracnet</a>: 2,500 researchers have
signed. Total: 3 letters this year #StopKillerRobots</li>
<li class="tweet">Showing 20 per page is not a signature count &amp; never was.</li>
</ul></section>
<section class="widget"><h2 class="widget-title">Archives</h2><ul><li>
<a href="/2019/06/">June 2019</a></li><li><a href="/2018/05/">May 2018</a></li></ul></section>
</aside></div>
<footer id="colophon" class="site-footer">
<p>&copy; 2019 ICRAC &middot; Proudly powered by WordPress</p></footer>
</div>
<script type="text/javascript"
src="/wp-content/plugins/participants-database/js/list-filter.js?ver=1.9"></script>
</body>
</html>
"""

_TITLE = "Open Letter to Amazon against Police and Government use of Rekognition"


def _document(body: str, path: str, instance: int, title: str) -> str:
    signup_instance = 1 if instance != 1 else 2
    return "".join((_HEAD.format(title=escape(title)),
                    _SIGNUP.format(instance=signup_instance, path=path), body, _SIDEBAR))


def render_page(rows: Sequence[Mapping[str, str]], page: int = 1, *, per_page: int = 100,
                markup: Markup = "2022", instance: int = 2, path: str = DEFAULT_PATH,
                caption: str = "Total Signatures: {count}, showing {per_page} per page",
                count: int | None = None, thousands: str = ",",
                caption_in_div: bool = False,
                columns: Sequence[tuple[str, str]] | None = None,
                title: str = _TITLE) -> str:
    """Render page ``page`` of the whole list ``rows`` as a complete HTML document.

    ``count`` is the number the caption shows (default ``len(rows)``); pagination follows
    ``len(rows)``. A page past the end shows the last page, like the plugin. ``title`` is
    the page's ``<title>`` and ``<h1>``, HTML-escaped as WordPress does.
    """
    cols = FIELDS if columns is None else tuple(columns)
    total_pages = max(1, -(-len(rows) // per_page))
    page = min(max(page, 1), total_pages)
    shown = rows[(page - 1) * per_page: page * per_page]
    cap = _caption(len(rows) if count is None else count, per_page, caption, thousands,
                   caption_in_div)
    list_classes = f"wrap pdb-list pdb-instance-{instance} participants-database"
    anchor = f"participants-list-{instance}"
    table = _table(shown, cols, cap, markup)
    pages = _pagination(page, total_pages, path, instance, markup)
    if markup == "2019":
        body = (f'<div class="{list_classes}" id="{anchor}" >\n'
                f'<a name="{anchor}" id="{anchor}-anchor"></a>\n{table}{pages}\n</div>\n')
    else:
        closing = '</div data-action="pdb_list_filter">' if markup == "2020" else "</div>"
        body = (f'<div class="{list_classes}" id="{anchor}" data-instance="{instance}">\n'
                f'<div data-action="pdb_list_filter" class="pdb-list-filter">\n'
                f"{table}{pages}\n{closing}\n</div>\n")
    return _document(body, path, instance, title)


def render_signup_only_page(path: str = DEFAULT_PATH) -> str:
    """The letter page after its list vanished: letter text and sign-up form only."""
    return _document('<p class="notice">The list of signatories will return soon.</p>\n',
                     path, 2, _TITLE)


def challenge_page() -> str:
    """A Cloudflare-style bot challenge served instead of the letter."""
    return """<!DOCTYPE html>
<html lang="en-US"><head><meta charset="UTF-8">
<meta http-equiv="refresh" content="12">
<title>Just a moment...</title>
<style>body{font-family:sans-serif}#cf-wrapper{margin:5em auto;max-width:40em}</style>
</head><body>
<div id="cf-wrapper"><div class="cf-browser-verification cf-im-under-attack">
<h1><span>Checking your browser before accessing</span> icrac.net.</h1>
<p>This process is automatic. Your browser will redirect to your requested content shortly.</p>
<p>Please allow up to 5 seconds&hellip;</p>
<form id="challenge-form" action="/cdn-cgi/l/chk_jschl?__cf_chl_jschl_tk__=abc123" method="get">
<input type="hidden" name="r" value="0a1b2c3d4e5f">
<input type="hidden" name="jschl_vc" value="9f8e7d">
</form>
<script type="text/javascript">
setTimeout(function(){document.getElementById('challenge-form').submit();}, 4000);
</script>
</div>
<div class="cf-footer">DDoS protection by <a href="https://www.cloudflare.com/">Cloudflare</a>
<br>Ray ID: 4e5f6a7b8c9d0e1f</div>
</div></body></html>
"""
