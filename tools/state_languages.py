"""Rebuild the ``states:`` lists of templates/rules/language-assistance.yaml from the Census Bureau's data.

    .venv/bin/python tools/state_languages.py            # print the lists (YAML)
    .venv/bin/python tools/state_languages.py --write    # replace the file's states: section with them

The data: the American Community Survey, 2018 1-year estimates, table B16001 ("Language spoken at home
by ability to speak English for the population 5 years and over"), one row per state, as the Census
API gives it (tools/data/acs-2018-b16001-states.csv; tools/data/README.md says where it was read).

For each state, the table's language groups are ranked by the estimated number of people who speak
English less than "very well" (the Census Bureau's measure of limited English proficiency). The four
residual groups ("Other Indo-European languages", "Other languages of Asia", "Other Native languages of
North America", "Other and unspecified languages") name no language a line could be written in, so they
are skipped; the first 15 of the others are the state's list, each group giving a line for each
language it names (Chinese: traditional and simplified characters; "Thai, Lao, or other Tai-Kadai
languages": Thai and Lao). A state the 1-year table does not publish in detail (its rows are empty: too
few people surveyed) gets no list, and a clinic there is told so and gives its own.

The table groups small languages together and is from 2018: it is not HHS's own list (which could not be
read here), and a rank near 15 may be within the estimate's margin of error (printed beside each group).
tests/test_state_languages.py says when the shipped file and this derivation differ.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tools" / "data" / "acs-2018-b16001-states.csv"
RULES = ROOT / "templates" / "rules" / "language-assistance.yaml"
COUNT = 15  # 45 CFR 92.11: at least the 15 most common languages of the state
SOURCE = ("U.S. Census Bureau, American Community Survey 2018 1-year estimates, table B16001 (language "
          "spoken at home by ability to speak English), the {n} groups with the most people who speak English "
          "less than \"very well\" in {name}; ranked by tools/state_languages.py from tools/data/"
          "acs-2018-b16001-states.csv")

# B16001's groups (2016 onward): the number of the group's total estimate, its label, and the languages
# it names that a line can be written in (none: a residual group, skipped).
GROUPS: tuple[tuple[int, str, tuple[str, ...]], ...] = (
    (3, "Spanish", ("es",)),
    (6, "French (incl. Cajun)", ("fr",)),
    (9, "Haitian", ("ht",)),
    (12, "Italian", ("it",)),
    (15, "Portuguese", ("pt",)),
    (18, "German", ("de",)),
    (21, "Yiddish, Pennsylvania Dutch or other West Germanic languages", ("yi", "pdc")),
    (24, "Greek", ("el",)),
    (27, "Russian", ("ru",)),
    (30, "Polish", ("pl",)),
    (33, "Serbo-Croatian", ("hbs",)),
    (36, "Ukrainian or other Slavic languages", ("uk",)),
    (39, "Armenian", ("hy",)),
    (42, "Persian (incl. Farsi, Dari)", ("fa",)),
    (45, "Gujarati", ("gu",)),
    (48, "Hindi", ("hi",)),
    (51, "Urdu", ("ur",)),
    (54, "Punjabi", ("pa",)),
    (57, "Bengali", ("bn",)),
    (60, "Nepali, Marathi, or other Indic languages", ("ne", "mr")),
    (63, "Other Indo-European languages", ()),
    (66, "Telugu", ("te",)),
    (69, "Tamil", ("ta",)),
    (72, "Malayalam, Kannada, or other Dravidian languages", ("ml", "kn")),
    (75, "Chinese (incl. Mandarin, Cantonese)", ("zh-Hant", "zh-Hans")),
    (78, "Japanese", ("ja",)),
    (81, "Korean", ("ko",)),
    (84, "Hmong", ("hmn",)),
    (87, "Vietnamese", ("vi",)),
    (90, "Khmer", ("km",)),
    (93, "Thai, Lao, or other Tai-Kadai languages", ("th", "lo")),
    (96, "Other languages of Asia", ()),
    (99, "Tagalog (incl. Filipino)", ("tl",)),
    (102, "Ilocano, Samoan, Hawaiian, or other Austronesian languages", ("ilo", "sm", "haw")),
    (105, "Arabic", ("ar",)),
    (108, "Hebrew", ("he",)),
    (111, "Amharic, Somali, or other Afro-Asiatic languages", ("am", "so")),
    (114, "Yoruba, Twi, Igbo, or other languages of Western Africa", ("yo", "tw", "ig")),
    (117, "Swahili or other languages of Central, Eastern, and Southern Africa", ("sw",)),
    (120, "Navajo", ("nv",)),
    (123, "Other Native languages of North America", ()),
    (126, "Other and unspecified languages", ()),
)

STATE_CODES = {
    "01": "AL", "02": "AK", "04": "AZ", "05": "AR", "06": "CA", "08": "CO", "09": "CT", "10": "DE", "11": "DC",
    "12": "FL", "13": "GA", "15": "HI", "16": "ID", "17": "IL", "18": "IN", "19": "IA", "20": "KS", "21": "KY",
    "22": "LA", "23": "ME", "24": "MD", "25": "MA", "26": "MI", "27": "MN", "28": "MS", "29": "MO", "30": "MT",
    "31": "NE", "32": "NV", "33": "NH", "34": "NJ", "35": "NM", "36": "NY", "37": "NC", "38": "ND", "39": "OH",
    "40": "OK", "41": "OR", "42": "PA", "44": "RI", "45": "SC", "46": "SD", "47": "TN", "48": "TX", "49": "UT",
    "50": "VT", "51": "VA", "53": "WA", "54": "WV", "55": "WI", "56": "WY", "72": "PR",
}


def _var(number: int, kind: str = "E") -> str:
    return f"B16001_{number:03d}{kind}"


def rows(path: Path = DATA) -> dict[str, dict[str, str]]:
    """The table's rows by state code (AK, CA, ...), as written; a state whose estimates are empty is
    left out. Each row is checked: its total is English only plus every group, and each group is its
    two parts (speaks English "very well", less than "very well"); a row that is not raises ValueError."""
    out = {}
    with path.open(encoding="utf-8", newline="") as file:
        for row in csv.DictReader(line for line in file if not line.startswith("#")):
            if row[_var(1)] == "null":
                continue
            value = {k: int(v) for k, v in row.items() if k.startswith("B16001_")}
            groups = sum(value[_var(n)] for n, _, _ in GROUPS)
            if value[_var(1)] != value[_var(2)] + groups or any(
                    value[_var(n)] != value[_var(n + 1)] + value[_var(n + 2)] for n, _, _ in GROUPS):
                raise ValueError(f"{path.name}: the row of {row['NAME']} does not add up")
            out[STATE_CODES[row["GEO_ID"][-2:]]] = row
    return out


def ranked(row: dict[str, str]) -> list[tuple[int, str, tuple[str, ...], int, int]]:
    """The state's groups, most people who speak English less than "very well" first: (number, label,
    tags, estimate, margin of error); residual groups left out."""
    groups = [(n, label, tags, int(row[_var(n + 2)]), int(row[_var(n + 2, "M")])) for n, label, tags in GROUPS
              if tags]
    return sorted(groups, key=lambda g: (-g[3], g[0]))


def state_lists(path: Path = DATA) -> dict[str, dict[str, object]]:
    """Every state's list: ``{"CA": {"source": ..., "languages": [...]}}``."""
    out = {}
    for code, row in sorted(rows(path).items()):
        top = ranked(row)[:COUNT]
        out[code] = {"source": SOURCE.format(n=len(top), name=row["NAME"]),
                     "languages": [tag for _, _, tags, _, _ in top for tag in tags]}
    return out


def yaml_section(path: Path = DATA) -> str:
    """The ``states:`` section of language-assistance.yaml, each state with its ranking as comments."""
    lines = ["states:"]
    table = rows(path)
    for code, entry in state_lists(path).items():
        lines.append(f"  # {table[code]['NAME']}: people who speak English less than \"very well\" "
                     "(estimate ± margin of error, 90%)")
        groups = ranked(table[code])[:COUNT + 1]
        for rank, (_, label, _, estimate, moe) in enumerate(groups, 1):
            mark = "" if rank <= COUNT else " (16th, not listed)"
            if rank <= COUNT and len(groups) > COUNT and _overlaps(groups[rank - 1], groups[COUNT]):
                mark = " (within the margins of error of the 16th)"
            lines.append(f"  #   {rank}. {label}: {estimate:,} ± {moe:,}{mark}")
        lines.append(f"  {code}:")
        lines.append(f"    source: \"{_escaped(str(entry['source']))}\"")
        lines.append(f"    languages: [{', '.join(entry['languages'])}]")  # type: ignore[arg-type]
    return "\n".join(lines) + "\n"


def _overlaps(a: tuple[int, str, tuple[str, ...], int, int], b: tuple[int, str, tuple[str, ...], int, int]) -> bool:
    """Whether two groups' estimates are within each other's 90% margins of error (their ranks could be the
    other way round)."""
    return a[3] - a[4] <= b[3] + b[4]


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def main(argv: list[str]) -> int:
    section = yaml_section()
    if "--write" not in argv:
        sys.stdout.write(section)
        return 0
    text = RULES.read_text(encoding="utf-8")
    head, marker, _ = text.partition("\nstates:")
    if not marker:
        print(f"{RULES}: no states: section to replace", file=sys.stderr)
        return 1
    RULES.write_text(head + "\n" + section, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
