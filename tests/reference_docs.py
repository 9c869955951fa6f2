"""Reads the Capillary API reference (kept outside the project) to check the catalogue's coverage.

An operation in the reference is a `## ` heading whose text holds a Resource (or
Request) Information table or an `HTTP Method` row.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

SECTIONS = [
    "customer",
    "transaction",
    "customerLabels",
    "otp",
    "coupon",
    "points",
    "survey",
    "referral",
    "userAuth",
    "customerWalkin",
    "verticals",
    "org",
    "staffUser",
    "leads",
    "userGroup",
    "userGroup2",
    "cardLoyalty",
    "groupLoyalty",
    "partnerProgram",
    "organizationSource",
    "storeCare",
    "events",
    "integrations",
    "eventNotifications",
    "authEngine",
    "rewards",
    "promotions",
    "recommendations",
    "targetLoyalty",
    "cartPromotions",
    "communications",
]

# v1.1 operations the v2 reference relies on for points redemption.
V1_POINTS_DOC = "v1.1/_points.md"

_HEADING = re.compile(r"(?m)^## (?!#)")
_OPERATION_MARK = re.compile(r"(?im)^#+\s*(resource|request) information|^\s*\|?\s*HTTP Methods?\s*\|")


NOT_FOUND = (
    "the Capillary API reference was not found: set CAPILLARY_DOCS_DIR to its directory (the one holding "
    "v2/index.html.md), or place it at ../shared/capillary-api-docs beside the checkout"
)


def reference_root() -> Path | None:
    """The reference directory, from CAPILLARY_DOCS_DIR or the shared checkout beside the project."""
    env = os.environ.get("CAPILLARY_DOCS_DIR")
    candidates = [Path(env)] if env else []
    here = Path(__file__).resolve().parent.parent
    candidates += [here.parent / "shared" / "capillary-api-docs", here.parent.parent / "shared" / "capillary-api-docs"]
    for candidate in candidates:
        if (candidate / "v2" / "index.html.md").is_file():
            return candidate
    return None


def operation_headings(doc_text: str) -> list[str]:
    """The `## ` headings of one reference file that document an operation, in order."""
    headings = []
    for part in _HEADING.split(doc_text)[1:]:
        heading = part.split("\n", 1)[0].strip()
        if _OPERATION_MARK.search(part):
            headings.append(heading)
    return headings


def section_doc(section: str) -> str:
    return f"v2/_{section}.md"


def all_reference_operations(root: Path) -> dict[str, list[str]]:
    """doc path -> operation headings, for the 31 sections and the v1.1 points file."""
    docs = [section_doc(s) for s in SECTIONS] + [V1_POINTS_DOC]
    return {doc: operation_headings((root / doc).read_text(encoding="utf-8")) for doc in docs}
