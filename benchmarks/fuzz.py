"""The adversarial fuzz outside pytest: the same engine as tests/test_fuzz.py, with its figures beside the targets.

    .venv/bin/python benchmarks/fuzz.py                    # 16 hypothesis examples per tool (the test's default)
    .venv/bin/python benchmarks/fuzz.py --examples 50
    CAP_MCP_FUZZ=long .venv/bin/python benchmarks/fuzz.py  # 200 per tool, reads retried, explicit strings everywhere
    .venv/bin/python benchmarks/fuzz.py --json             # only the JSON result on stdout

One `python -m cap_mcp serve --toolsets all` over stdio with a real MCP client, pointed at the recording loopback
"Capillary" of the tests; every tool of `cap-mcp tools --json`; then the malformed JSON-RPC lines on a second
server's stdin. Findings do not stop the run: each is counted under its figure (the first ones are printed), and
the exit status is 1 when a figure with a target of zero is not zero. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import ROOT, machine_info, rounded, table

sys.path.insert(0, str(ROOT / "tests"))

from fuzzing import (
    FIGURES,
    LONG,
    MALFORMED,
    OUTCOMES,
    READ_RETRIES,
    Harness,
    RawServer,
    catalogue_ops,
    foreign_for,
    fuzz_examples,
    fuzz_tool,
    server_pids,
)
from recorder import Recorder


def malformed_lines(workdir: Path) -> dict[str, Any]:
    """Each malformed line answered as it must be, and the server still serving after each."""
    wrong: list[str] = []
    with Recorder() as recorder:
        server = RawServer(recorder.url, workdir)
        try:
            server.handshake()
            for case in MALFORMED:
                answer = server.send(case.line) or {}
                if case.code is not None:
                    ok = answer.get("id") == case.id and (answer.get("error") or {}).get("code") == case.code
                else:
                    structured = (answer.get("result") or {}).get("structuredContent") or {}
                    ok = answer.get("id") == case.id and structured.get("outcome") in OUTCOMES
                    ok = ok and (case.status is None or structured.get("status") == case.status)
                ping = server.send(b'{"jsonrpc":"2.0","id":"after","method":"ping"}')
                if not ok or ping != {"jsonrpc": "2.0", "id": "after", "result": {}}:
                    wrong.append(f"{case.name}: {json.dumps(answer)[:200]}")
            alive = server.process.poll() is None
        finally:
            server.close()
    return {"lines": len(MALFORMED), "answered_wrongly": wrong, "server_alive": alive}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=fuzz_examples(), help="hypothesis examples per tool")
    parser.add_argument("--tools", default="", help="only these tools (comma-separated)")
    parser.add_argument("--mode", default="auto", choices=["auto", "legacy"], help="the MCP client's protocol mode")
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    args = parser.parse_args()
    logging.disable(logging.WARNING)

    ops = every_op = catalogue_ops()
    if args.tools:
        wanted = set(args.tools.split(","))
        ops = [op for op in ops if op.name in wanted]
    foreign = foreign_for(ops)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cap-mcp-fuzz-") as tmp, Harness(every_op, Path(tmp), mode=args.mode) as h:
        pids = server_pids()
        for index, op in enumerate(ops, 1):
            fuzz_tool(h, op, args.examples, strict=False, foreign=foreign(op))
            if index % 20 == 0 or index == len(ops):
                print(f"  {index}/{len(ops)} tools, {h.stats.counts['calls']} calls", file=sys.stderr)
        if server_pids() != pids or not h.alive():
            h.stats.add("process_exits", "the server process is gone at the end of the run")
        stats = h.stats
        fuzz_seconds = time.perf_counter() - started
        lines = malformed_lines(Path(tmp))
    figures = {key: stats.figure(key) for key, _, _ in FIGURES}
    result = {
        "examples_per_tool": args.examples,
        "long": LONG,
        "read_retries": READ_RETRIES,
        "client_mode": args.mode,
        "fuzz_seconds": fuzz_seconds,
        "total_seconds": time.perf_counter() - started,
        "figures": figures,
        "targets": {key: target for key, _, target in FIGURES if target is not None},
        "outcomes": dict(stats.outcomes),
        "malformed_lines": lines,
        "findings": stats.findings[:50],
        "machine": machine_info(),
    }
    if args.json:
        print(json.dumps(rounded(result), indent=2))
    else:
        print(
            f"\nfuzz: {len(ops)} tools x {args.examples} examples, {fuzz_seconds:.0f} s (CAP_MCP_FUZZ long: {LONG})\n"
        )
        print(table(["figure", "count", "target"], stats.rows()))
        print("\noutcomes: " + ", ".join(f"{k} {v}" for k, v in sorted(stats.outcomes.items())))
        wrong = lines["answered_wrongly"]
        print(f"malformed JSON-RPC lines: {lines['lines']}, answered wrongly {len(wrong)} (target 0), "
              f"server alive after them: {lines['server_alive']}")  # fmt: skip
        for finding in [*stats.findings[:20], *wrong]:
            print("  " + finding[:300])
    missed = stats.failures() or lines["answered_wrongly"] or not lines["server_alive"]
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
