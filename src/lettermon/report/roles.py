"""Which kind of role a signatory's typed job title names, and how many signed in each.

Titles are typed freely ("Assistant Professor of Practice in History", "postdoctoral
fellow", "JD/MA Candidate", "Professot", "Mom"). `role_group` puts each in one of five
groups, `ROLE_GROUPS`, by keywords matched on whole words after folding case and accents:

1. student: "student", "candidate" (PhD, JD/MA), "doctoral researcher", "undergraduate";
2. professor: "professor", "prof", "emeritus", and the word in other languages;
3. industry, strong signals: "chief", "CTO", "founder", "owner", "partner", "UX", "data
   scientist": these beat the research words of the next tier, so "UX Researcher for
   Machine Learning Engineering" and "Chief Scientist" count as industry;
4. lecturer/researcher: "lecturer", "research", "researcher", "scientist", "postdoc",
   "fellow", "instructor", "teacher", "staff science", "principal investigator";
5. industry: "director", "manager", "engineer", "software", "developer", "consultant",
   "editor", "principal", "officer": these lose to the research words, so "Research
   Engineer" and "Director of Research" count as lecturer/researcher;
6. anything else is other ("Mom", "Ambassador", "Public Prosecutor", "Member").

The first tier with a match decides, so a title naming two roles counts once, in the
earlier group: "Professor and Director" is a professor, "Founder and Researcher" is
industry, "PhD Student and Teaching Assistant" a student. A word of seven letters or more
also matches a keyword of seven letters or more one edit away, with the same first letter
("Professot", "Profesor", "Lectuerr"); shorter words must be exact, and "Resident" is not
a typo of "President".

The title decides whenever it has any word other than a courtesy title; the honorific is
read, by the same rules, only when the title is blank or just "Mr." or "Dr". So "Prof."
with an empty title is a professor, but "Prof." with "PhD Candidate" is a student and
"Prof. MSc." with "Public Prosecutor" is other: people say what they do in the title.
A doctorate alone ("Dr", "PhD") says nothing about the role: other.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable
from functools import cache
from typing import Literal, get_args

__all__ = ["ROLE_GROUPS", "RoleGroup", "breakdown_by_role", "role_group"]

RoleGroup = Literal["professor", "lecturer/researcher", "student", "industry", "other"]

ROLE_GROUPS: tuple[RoleGroup, ...] = get_args(RoleGroup)

TYPO_MIN_LETTERS = 7  # words this long may be one edit away from a keyword

# Tiers, in the order they are tried; each keyword is one word or a phrase of words.
_TIERS: tuple[tuple[RoleGroup, tuple[str, ...]], ...] = (
    ("student", (
        "student", "candidate", "undergraduate", "undergrad", "doctoral researcher",
        "phd researcher", "doctorand", "doktorand", "doctorant",
    )),
    ("professor", (
        "professor", "prof", "professorin", "professeur", "professeure", "profesor",
        "profesora", "professora", "professore", "professoressa", "emeritus", "emerita",
    )),
    ("industry", (
        "chief", "ceo", "cto", "cfo", "coo", "cio", "founder", "cofounder", "owner",
        "partner", "ux", "user experience", "user researcher", "data scientist",
        "vice president", "vp",
    )),
    ("lecturer/researcher", (
        "lecturer", "reader", "research", "researcher", "scientist", "postdoc", "post doc",
        "postdoctoral", "fellow", "instructor", "teacher", "tutor", "docent", "dozent",
        "dozentin", "lektor", "academic", "faculty", "scholar", "staff science",
        "principal investigator", "chercheur", "chercheuse", "investigador",
        "investigadora", "ricercatore", "ricercatrice", "wissenschaftler",
        "wissenschaftlerin",
    )),
    ("industry", (
        "director", "manager", "engineer", "software", "developer", "programmer",
        "designer", "consultant", "editor", "analyst", "architect", "president",
        "principal", "entrepreneur", "freelance", "freelancer", "self employed",
        "executive", "officer",
    )),
)

# Words that are courtesy titles or degrees, not roles: a title made only of these is blank.
_COURTESY = frozenset({
    "mr", "mrs", "ms", "miss", "mx", "dr", "drs", "sir", "madam", "dame", "m", "mme",
    "mlle", "herr", "frau", "sr", "sra", "srta", "phd", "ph", "d", "msc", "ma", "ba", "bsc",
    "md", "jd", "mba", "esq", "hon", "rev",
})


def role_group(title: str, *, honorific: str = "") -> RoleGroup:
    """The group a typed job title falls in; see the module's docstring for the rules."""
    words = _words(title)
    if all(word in _COURTESY for word in words):
        words = _words(honorific)
    for group, phrases in _tiers():
        if any(_contains(words, phrase) for phrase in phrases):
            return group
    return "other"


def breakdown_by_role(titles: Iterable[tuple[str, str]]) -> list[tuple[RoleGroup, int]]:
    """Signatories per group from (title, honorific) pairs, every group in `ROLE_GROUPS`
    order, with 0 for a group nobody is in."""
    counts = Counter(role_group(title, honorific=honorific) for title, honorific in titles)
    return [(group, counts[group]) for group in ROLE_GROUPS]


@cache
def _tiers() -> tuple[tuple[RoleGroup, tuple[tuple[str, ...], ...]], ...]:
    """The keyword tiers, each keyword split into words once."""
    return tuple((group, tuple(_words(keyword) for keyword in keywords))
                 for group, keywords in _TIERS)


def _words(text: str) -> tuple[str, ...]:
    """"Co-Founder, Ph.D." → ("co", "founder", "ph", "d"): case and accents folded."""
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text).casefold())
    return tuple("".join(
        ch if ch.isalnum() else " " for ch in text if not unicodedata.combining(ch)).split())


def _contains(words: tuple[str, ...], phrase: tuple[str, ...]) -> bool:
    size = len(phrase)
    return any(
        all(_same_word(word, key) for word, key in zip(words[i:i + size], phrase, strict=True))
        for i in range(len(words) - size + 1))


def _same_word(word: str, keyword: str) -> bool:
    """Equal, or both long, with the same first letter and one edit apart ("professot")."""
    if word == keyword:
        return True
    if min(len(word), len(keyword)) < TYPO_MIN_LETTERS or word[0] != keyword[0]:
        return False
    from rapidfuzz.distance import OSA

    return OSA.distance(word, keyword, score_cutoff=1) <= 1
