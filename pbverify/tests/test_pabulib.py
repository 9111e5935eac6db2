"""The `.pb` parser refuses structural faults with their line and keeps limit-breaking ballots; writing round-trips."""

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pbverify.pabulib import PbFormatError, pb_parse, pb_write

DATA = Path(__file__).parent / "data" / "pabulib"
FILES = sorted(DATA.glob("*.pb"))

# Line numbers: 1 META … 7 vote_type, 8 PROJECTS, 9 header, 10–12 projects, 13 VOTES, 14 header, 15–16 votes.
EXAMPLE = """META
key;value
description;Example PB
num_projects;3
num_votes;2
budget;1000
vote_type;approval
PROJECTS
project_id;cost;name
1;600;Park
2;500.50;"Library; phase II"
3;300;Bench
VOTES
voter_id;vote
v1;1,2
v2;1,3
"""


def _refused(text: str | bytes) -> PbFormatError:
    with pytest.raises(PbFormatError) as caught:
        pb_parse(text.encode() if isinstance(text, str) else text)
    return caught.value


def test_the_example_parses():
    pb = pb_parse(EXAMPLE.encode())
    assert pb.meta == {
        "description": "Example PB",
        "num_projects": "3",
        "num_votes": "2",
        "budget": "1000",
        "vote_type": "approval",
    }
    assert list(pb.meta) == ["description", "num_projects", "num_votes", "budget", "vote_type"]
    assert pb.project_columns == ["project_id", "cost", "name"]
    assert list(pb.projects) == ["1", "2", "3"]
    assert pb.projects["2"] == {"project_id": "2", "cost": "500.50", "name": "Library; phase II"}
    assert pb.costs == {"1": Decimal(600), "2": Decimal("500.50"), "3": Decimal(300)}
    assert pb.budget == Decimal(1000)
    assert pb.vote_columns == ["voter_id", "vote"]
    assert pb.votes == [{"voter_id": "v1", "vote": "1,2"}, {"voter_id": "v2", "vote": "1,3"}]
    assert (len(pb.votes), pb.votes[1], pb.votes[-1:]) == (2, {"voter_id": "v2", "vote": "1,3"}, [pb.votes[1]])
    assert pb.ballots == [("1", "2"), ("1", "3")]
    assert (pb.vote_type, pb.limit_violations) == ("approval", 0)


@pytest.mark.parametrize(
    ("old", "new", "line", "reason"),
    [
        ("VOTES\nvoter_id;vote\nv1;1,2\nv2;1,3\n", "", 13, "missing section VOTES"),
        ("META\n", "", 1, "expected section META, found 'key;value'"),
        ("PROJECTS\n", "", 12, "missing section PROJECTS before section VOTES"),
        ("PROJECTS\nproject_id;cost;name\n", "", 11, "missing section PROJECTS before section VOTES"),
        ("META\nkey;value", "PROJECTS\nkey;value", 1, "missing section META before section PROJECTS"),
        ("v2;1,3", "v2;1,7", 16, "vote names unknown project '7'"),
        ("v2;1,3", "v2;1,3,1", 16, "project '1' appears twice in one vote"),
        ("v2;1,3", "v2;1,,3", 16, "empty project id in vote"),
        ("3;300;Bench", "3;-300;Bench", 12, "negative cost for project '3': -300"),
        ("3;300;Bench", "3;abc;Bench", 12, "cost of project '3' is not a number: 'abc'"),
        ("3;300;Bench", "3;1e3;Bench", 12, "cost of project '3' is not a number: '1e3'"),
        ("3;300;Bench", "3;;Bench", 12, "missing cost for project '3'"),
        ("3;300;Bench", "1;300;Bench", 12, "duplicate project id '1'"),
        ("3;300;Bench", "3;300;Bench;extra", 12, "expected 3 fields, found 4"),
        ("v2;1,3", "v1;1,3", 16, "duplicate voter id 'v1'"),
        ("v2;1,3", "v2;1,3;x", 16, "expected 2 fields, found 3"),
        ("num_votes;2", "num_votes;3", 5, "num_votes is 3 but VOTES has 2 rows"),
        ("num_projects;3", "num_projects;4", 4, "num_projects is 4 but PROJECTS has 3 rows"),
        ("num_votes;2", "num_votes;two", 5, "num_votes is not a whole number: 'two'"),
        ("budget;1000\n", "", 1, "missing budget in META"),
        ("budget;1000", "budget;lots", 6, "budget is not a number: 'lots'"),
        ("budget;1000", "budget;-5", 6, "invalid budget: '-5'"),
        ("vote_type;approval", "vote_type;plurality", 7, "unknown vote_type 'plurality'"),
        ("vote_type;approval\n", "", 1, "missing vote_type in META"),
        ("budget;1000", "budget;1000;EUR", 6, "expected 2 fields, found 3"),
        ("budget;1000", "budget;1000\ndescription;again", 7, "duplicate META key 'description'"),
        ("key;value", "name;value", 2, "the META header must be 'key;value'"),
        ("voter_id;vote\n", "voter_id;ballot\n", 14, "missing column 'vote' in the VOTES header"),
        ("voter_id;vote\n", "voter_id;vote;vote\n", 14, "duplicate column 'vote' in the VOTES header"),
        ("VOTES\nvoter_id;vote\nv1;1,2\nv2;1,3\n", "VOTES\n", 13, "missing header row in section VOTES"),
        ("PROJECTS", "VOTES", 8, "missing section PROJECTS before section VOTES"),
        ("PROJECTS\nproject_id;cost;name\n", "PROJECTS\nVOTES\n", 8, "missing header row in section PROJECTS"),
        ("VOTES", "META", 13, "section META appears twice"),
        ("v2;1,3\n", "v2;1,3\nvotes\n", 17, "section VOTES appears twice"),
        ("v2;1,3\n", "v2;1,3\n Meta\n", 17, "section META appears twice"),
        ("v2;1,3\n", 'v2;1,3\nv3;"1\n', 17, "badly quoted field"),
        ('"Library; phase II"', '"Library; phase II', 11, "badly quoted field"),
    ],
)
def test_structural_faults_are_refused_with_line_and_reason(old, new, line, reason):
    assert old in EXAMPLE
    error = _refused(EXAMPLE.replace(old, new, 1))
    assert error.line == line
    assert error.reason.startswith(reason)
    assert str(error).startswith(f"line {line}: {reason}")


def test_a_file_that_is_not_utf8_is_refused_at_its_first_bad_line():
    data = EXAMPLE.replace("Bench", "B\x00nch").encode().replace(b"\x00", b"\xe9")
    error = _refused(data)
    assert (error.line, error.reason) == (12, "the file is not UTF-8 text")
    assert str(error) == "line 12: the file is not UTF-8 text"


def test_points_ballots_need_points():
    cumulative = EXAMPLE.replace("vote_type;approval", "vote_type;cumulative")
    assert _refused(cumulative).line == 14
    assert _refused(cumulative).reason == "missing column 'points' in the VOTES header"
    with_points = cumulative.replace("voter_id;vote\nv1;1,2\nv2;1,3", "voter_id;vote;points\nv1;1,2;2,1\nv2;1,3;3")
    error = _refused(with_points)
    assert (error.line, error.reason) == (16, "1 points for 2 projects in the vote")
    error = _refused(with_points.replace("v2;1,3;3", "v2;1,3;3,x"))
    assert (error.line, error.reason) == (16, "points value is not a number: 'x'")
    pb = pb_parse(with_points.replace("v2;1,3;3", "v2;1,3;3,1").encode())
    assert pb.ballot_points == [(Decimal(2), Decimal(1)), (Decimal(3), Decimal(1))]


def test_a_bom_and_crlf_line_ends_are_accepted():
    plain = pb_parse(EXAMPLE.encode())
    assert pb_parse(b"\xef\xbb\xbf" + EXAMPLE.replace("\n", "\r\n").encode()) == plain


def test_spaces_blank_lines_and_knapsack_are_tolerated():
    text = EXAMPLE.replace("budget;1000", "budget; 1000").replace("PROJECTS", "\nprojects ")
    text = text.replace('2;500.50;"Library', '2;500.50; "Library').replace("vote_type;approval", "vote_type;Knapsack")
    pb = pb_parse(text.encode())
    assert (pb.budget, pb.vote_type, pb.meta["budget"]) == (Decimal(1000), "approval", "1000")
    assert pb.projects["2"]["name"] == "Library; phase II"
    pb = pb_parse(
        EXAMPLE.replace("vote_type;approval", "vote_type;approval\nmin_length;None").replace("1,3", "1, 3").encode()
    )
    assert (pb.ballots[1], pb.limit_violations) == (("1", "3"), 0)


@pytest.mark.parametrize(
    "row",
    ['v2;"1,3"', "v2 ; 1,3", "v2;1,3\xa0", "\tv2;1,3", '"v2";1,3\n\n'],
    ids=["quoted", "spaces", "nbsp", "tab", "blank"],
)
def test_votes_read_the_same_with_quotes_spaces_and_blank_lines(row):
    """Rows without quotes or whitespace are split in one sweep; any other row, line by line: the same result."""
    assert pb_parse(EXAMPLE.replace("v2;1,3", row).encode()) == pb_parse(EXAMPLE.encode())


def test_an_empty_vote_is_an_abstaining_voter():
    pb = pb_parse(EXAMPLE.replace("num_votes;2", "num_votes;3").replace("v2;1,3\n", "v2;1,3\nv3;\n").encode())
    assert pb.ballots[-1] == ()
    assert pb.votes[-1] == {"voter_id": "v3", "vote": ""}


def test_ballots_breaking_a_meta_limit_are_kept_and_counted():
    text = EXAMPLE.replace("vote_type;approval", "vote_type;approval\nmax_length;1\nmax_sum_cost;1000")
    pb = pb_parse(text.encode())
    assert len(pb.votes) == 2
    assert pb.limit_violations == 2  # both ballots name two projects; v1 also costs 1100.50
    real = pb_parse((DATA / "Worldwide_Mechanical_Turk_Utilities_3.pb").read_bytes())
    assert real.meta["min_sum_points"] == "100"
    assert (len(real.votes), real.limit_violations) == (74, 11)


@pytest.mark.parametrize("path", FILES, ids=[path.stem for path in FILES])
def test_every_real_file_parses_and_round_trips(path):
    pb = pb_parse(path.read_bytes())
    assert len(pb.projects) == int(pb.meta["num_projects"])
    assert len(pb.votes) == int(pb.meta["num_votes"])
    written = pb_write(
        meta=list(pb.meta.items()),
        projects=list(pb.projects.values()),
        project_columns=pb.project_columns,
        votes=pb.votes,
        vote_columns=pb.vote_columns,
    )
    assert not written.startswith(b"\xef\xbb\xbf") and b"\r" not in written
    again = pb_parse(written)
    assert again == pb
    assert list(again.meta) == list(pb.meta)
    assert list(again.projects) == list(pb.projects)


def _example_write(**changes):
    arguments = {
        "meta": [("description", "Example PB"), ("budget", "1000"), ("vote_type", "approval")],
        "projects": [
            {"project_id": "2", "cost": Decimal("500.50"), "name": 'The "big" one'},
            {"project_id": "1", "cost": 600, "name": "Park"},
        ],
        "project_columns": ["project_id", "cost", "name"],
        "votes": [{"voter_id": "v1", "vote": ["2", "1"]}, {"voter_id": "v2", "vote": ""}],
        "vote_columns": ["voter_id", "vote"],
    }
    return pb_write(**{**arguments, **changes})


def test_write_is_byte_for_byte_deterministic():
    expected = (
        b"META\nkey;value\ndescription;Example PB\nbudget;1000\nvote_type;approval\n"
        b'PROJECTS\nproject_id;cost;name\n2;500.50;"The ""big"" one"\n1;600;Park\n'
        b"VOTES\nvoter_id;vote\nv1;2,1\nv2;\n"
    )
    assert _example_write() == expected
    assert _example_write() == expected
    pb = pb_parse(expected)
    assert pb.projects["2"]["name"] == 'The "big" one'
    assert list(pb.projects) == ["2", "1"]
    assert pb.ballots == [("2", "1"), ()]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"meta": [("description", "a;b"), ("budget", "1"), ("vote_type", "approval")]}, "contains ';'"),
        ({"meta": [("description", "a\nb"), ("budget", "1"), ("vote_type", "approval")]}, "line break"),
        ({"meta": [("description", " a"), ("budget", "1"), ("vote_type", "approval")]}, "whitespace"),
        ({"votes": [{"voter_id": "v1", "vote": "3"}]}, "vote names unknown project '3'"),
        ({"votes": [{"voter_id": "v1", "vote": "1", "age": "30"}]}, "columns not in the header"),
        ({"meta": [("description", "x")]}, "missing vote_type"),
    ],
)
def test_write_refuses_what_would_not_read_back(changes, message):
    with pytest.raises(ValueError, match=message):
        _example_write(**changes)


_TEXT = st.text(st.characters(blacklist_characters=";\n\r", blacklist_categories=("Cs",)), max_size=12).map(str.strip)
_IDS = st.lists(st.text("abcxyz0123456789-/.", min_size=1, max_size=6), min_size=1, max_size=6, unique=True)


@given(_IDS, st.data())
def test_write_then_parse_gives_back_the_same_content(ids, data):
    projects = [
        {"project_id": pid, "cost": data.draw(st.decimals(0, 10**6, places=2)), "name": data.draw(_TEXT)} for pid in ids
    ]
    votes = [
        {
            "voter_id": str(index),
            "vote": data.draw(st.lists(st.sampled_from(ids), unique=True)),
            "note": data.draw(_TEXT),
        }
        for index in range(data.draw(st.integers(0, 5)))
    ]
    meta = [("description", data.draw(_TEXT)), ("budget", "100.5"), ("vote_type", "approval")]
    written = pb_write(
        meta=meta,
        projects=projects,
        project_columns=["project_id", "cost", "name"],
        votes=votes,
        vote_columns=["voter_id", "vote", "note"],
    )
    pb = pb_parse(written)
    assert list(pb.meta.items()) == meta
    assert [row["name"] for row in pb.projects.values()] == [row["name"] for row in projects]
    assert pb.costs == {row["project_id"]: row["cost"] for row in projects}
    assert pb.ballots == [tuple(vote["vote"]) for vote in votes]
    assert [vote["note"] for vote in pb.votes] == [vote["note"] for vote in votes]
