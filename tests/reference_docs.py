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
# The v1.1 files the v2 reference names as its companion (the points file's three operations live in
# the points toolset; the others in the v11_* toolsets, whose section is "v1.1/<name>").
V1_SECTIONS = ["customer", "transaction", "coupon", "points"]
V1_DOCS = [f"v1.1/_{name}.md" for name in V1_SECTIONS]

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
    """The reference file of a toolset's section: "points" -> v2/_points.md, "v1.1/customer" -> v1.1/_customer.md."""
    version, _, name = section.rpartition("/")
    return f"{version or 'v2'}/_{name}.md"


def all_reference_operations(root: Path) -> dict[str, list[str]]:
    """doc path -> operation headings, for the 31 sections and the four v1.1 files."""
    docs = [section_doc(s) for s in SECTIONS] + V1_DOCS
    return {doc: operation_headings((root / doc).read_text(encoding="utf-8")) for doc in docs}


_METHOD_ROW = re.compile(r"(?im)^\s*\|?\s*HTTP Methods?\s*\|\s*([A-Za-z]+)")
_REQUEST_URL = re.compile(r"(?ims)^#+\s*Request URL\s*$(.*?)(?=^#)")
_HOST_PATH = re.compile(r"\{host\}(/[^?\s`&{]*)")
_SAMPLE_PATH = re.compile(r"https?://[^/\s`]+(/v?1\.1/[^?\s`&]*)")


def operation_facts(doc_text: str) -> dict[str, dict[str, object]]:
    """heading -> {"method": the HTTP Method row (upper case) or None, "request_paths": paths of the
    Request URL lines, "sample_paths": paths of the sample request URLs}, for every `## ` heading."""
    facts: dict[str, dict[str, object]] = {}
    for part in _HEADING.split(doc_text)[1:]:
        heading = part.split("\n", 1)[0].strip()
        method = _METHOD_ROW.search(part)
        request = "".join(_REQUEST_URL.findall(part + "\n#"))
        samples = re.findall(r"```html\n(.*?)```", part, re.S)
        facts[heading] = {
            "method": method.group(1).upper() if method else None,
            "request_paths": set(_HOST_PATH.findall(request)),
            "sample_paths": {p for block in samples for p in _SAMPLE_PATH.findall(block)},
        }
    return facts
