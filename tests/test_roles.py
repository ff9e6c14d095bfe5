"""The role breakdown: which group each typed job title falls in, and the counts per group."""

from __future__ import annotations

import pytest

from lettermon.report.roles import ROLE_GROUPS, breakdown_by_role, role_group

# The honorific and title of each of the first 79 rows of the ICRAC Rekognition letter,
# in page order, with the group each is counted in.
LETTER_ROWS: list[tuple[str, str, str]] = [
    ("", "Senior Research Associate", "lecturer/researcher"),
    ("Professor", "Professor Emeritus", "professor"),
    ("Mrs.", "rertired professor", "professor"),
    ("Mr.", "Mr.", "other"),
    ("", "", "other"),
    ("", "Assistant Professor", "professor"),
    ("Ms.", "UX Researcher for Machine Learning Engineering", "industry"),
    ("Ms", "Editor", "industry"),
    ("Miss", "Student", "student"),
    ("", "", "other"),
    ("Ms.", "", "other"),
    ("", "", "other"),
    ("Mr", "Staff Science", "lecturer/researcher"),
    ("", "Sr. Principal", "industry"),
    ("Dr.", "Associate Professor", "professor"),
    ("", "Postdoc", "lecturer/researcher"),
    ("", "PhD Candidate", "student"),
    ("Dr.", "Associate Professor", "professor"),
    ("Professor", "", "professor"),
    ("Dr.", "Co-Founder", "industry"),
    ("Ms.", "Research Associate", "lecturer/researcher"),
    ("", "Assistant Professor", "professor"),
    ("Dr.", "Lecturer", "lecturer/researcher"),
    ("Dr.", "Assistant Professor of Practice in History, Philosophy, & Sociology of Science",
     "professor"),
    ("Dr.", "postdoctoral fellow", "lecturer/researcher"),
    ("", "professor", "professor"),
    ("", "PhD Candidate", "student"),
    ("PhD", "Professor", "professor"),
    ("Professor", "Assistant Professor", "professor"),
    ("Dr", "Assistant Professor", "professor"),
    ("Ms.", "", "other"),
    ("Ms", "", "other"),
    ("Dr.", "Associate Professor", "professor"),
    ("", "Graduate Student", "student"),
    ("Dr.", "Partner", "industry"),
    ("", "Teacher", "lecturer/researcher"),
    ("Mr", "", "other"),
    ("", "Chief Technology Officer", "industry"),
    ("Dr", "", "other"),
    ("Dr", "Professot", "professor"),
    ("", "Student", "student"),
    ("", "Computer vision", "other"),
    ("Dr", "Member", "other"),
    ("MR", "Director", "industry"),
    ("Dr", "Lecturer", "lecturer/researcher"),
    ("professor", "professor", "professor"),
    ("Prof. MSc.", "Public Prosecutor", "other"),
    ("", "PhD Candidate", "student"),
    ("", "JD/MA Candidate", "student"),
    ("Mr.", "Philosophy Teacher", "lecturer/researcher"),
    ("ms", "", "other"),
    ("", "PhD Candidate", "student"),
    ("Prof.", "Assistant Professor", "professor"),
    ("Ms", "Senior Lecturer", "lecturer/researcher"),
    ("Dr", "Senior Lecturer", "lecturer/researcher"),
    ("", "PhD Student", "student"),
    ("Prof Dr", "Full professor", "professor"),
    ("", "Instructor", "lecturer/researcher"),
    ("Prof", "Associate Professor", "professor"),
    ("Ms.", "Research Associate", "lecturer/researcher"),
    ("Prof.", "Associate Professor", "professor"),
    ("Ms.", "Master Student", "student"),
    ("Prof.", "Full Professor of Chemistry", "professor"),
    ("", "Sidewalk Engineer", "industry"),
    ("Professor/Director", "", "professor"),
    ("Professor", "Professor of philosophy", "professor"),
    ("Prof.", "PhD Candidate", "student"),
    ("Dr", "Professor", "professor"),
    ("Prof.", "Lecturer in Ethics", "lecturer/researcher"),
    ("", "Student", "student"),
    ("Miss", "Student", "student"),
    ("Mr.", "Graduate Student", "student"),
    ("Mr.", "Ambassador", "other"),
    ("", "", "other"),
    ("American Citizen", "Mom", "other"),
    ("Mr", "PhD Student", "student"),
    ("Mr", "", "other"),
    ("Ms.", "Adjunct Instructor", "lecturer/researcher"),
    ("Mr.", "Owner", "industry"),
]


@pytest.mark.parametrize(("honorific", "title", "group"), LETTER_ROWS,
                         ids=[f"{h!r}-{t!r}" for h, t, _ in LETTER_ROWS])
def test_every_title_in_the_letter_lands_in_its_group(honorific: str, title: str,
                                                      group: str) -> None:
    assert role_group(title, honorific=honorific) == group


def test_the_letter_breakdown_counts_every_group_in_a_fixed_order() -> None:
    assert len(LETTER_ROWS) == 79
    assert breakdown_by_role((title, honorific) for honorific, title, _ in LETTER_ROWS) == [
        ("professor", 23),
        ("lecturer/researcher", 15),
        ("student", 15),
        ("industry", 9),
        ("other", 17),
    ]


def test_an_empty_list_shows_every_group_with_zero() -> None:
    assert breakdown_by_role([]) == [(group, 0) for group in ROLE_GROUPS]
    assert ROLE_GROUPS == ("professor", "lecturer/researcher", "student", "industry", "other")


@pytest.mark.parametrize(("title", "honorific", "group"), [
    # the title decides; the honorific only fills in for a blank title
    ("", "Prof.", "professor"),
    ("", "Prof. Dr.", "professor"),
    ("Mr.", "Prof.", "professor"),
    ("PhD Candidate", "Prof.", "student"),
    ("Lecturer in Ethics", "Prof.", "lecturer/researcher"),
    ("Public Prosecutor", "Prof.", "other"),
    ("", "Dr.", "other"),
    ("", "PhD", "other"),
    ("Dr", "", "other"),
    # student before professor before strong industry words before research words
    ("PhD Student and Teaching Assistant", "", "student"),
    ("Professor and Director", "", "professor"),
    ("Professor; Co-Founder of a start-up", "", "professor"),
    ("Chief Scientist", "", "industry"),
    ("Data Scientist", "", "industry"),
    ("User Researcher", "", "industry"),
    ("Founder and Researcher", "", "industry"),
    # research words before the other industry words
    ("Research Engineer", "", "lecturer/researcher"),
    ("Director of Research", "", "lecturer/researcher"),
    ("Principal Investigator", "", "lecturer/researcher"),
    ("Senior Principal", "", "industry"),
    ("Software Engineer", "", "industry"),
    ("CTO", "", "industry"),
    ("Product Manager", "", "industry"),
    ("Independent Consultant", "", "industry"),
    ("Self-employed", "", "industry"),
    # case, accents, punctuation and other languages
    ("ASSOCIATE PROFESSOR", "", "professor"),
    ("assoc. prof.", "", "professor"),
    ("Professeur associé", "", "professor"),
    ("Profesora titular", "", "professor"),
    ("Professorin", "", "professor"),
    ("Post-doc", "", "lecturer/researcher"),
    ("Postdoctoral Research Fellow", "", "lecturer/researcher"),
    ("Chercheuse", "", "lecturer/researcher"),
    ("Doktorand", "", "student"),
    ("Undergraduate", "", "student"),
    # one typo in a long word is forgiven; short words and other words are not matched
    ("Profesor", "", "professor"),
    ("Lectuerr", "", "lecturer/researcher"),
    ("Studnet", "", "student"),
    ("Teachr", "", "other"),
    ("Resident", "", "other"),
    ("Doctorate", "", "other"),
    # whole words only
    ("Proficient", "", "other"),
    ("Studio owner", "", "industry"),
    ("Editorial assistant", "", "other"),
    ("Partnership lead", "", "other"),
    # not a role these groups know
    ("Mom", "", "other"),
    ("Ambassador", "", "other"),
    ("Public Prosecutor", "", "other"),
    ("Retired", "", "other"),
    ("<b>Professor</b>", "", "professor"),
])
def test_edge_cases(title: str, honorific: str, group: str) -> None:
    assert role_group(title, honorific=honorific) == group
