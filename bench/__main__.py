"""``python -m bench [--quick] [--only NAME ...] [--json FILE] [--markdown]``."""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time

from rich.console import Console
from rich.table import Table

from bench import (
    cogment,
    core,
    dagger,
    datastore,
    distributed,
    learn,
    objstore,
    registry,
    rlhf,
    rlhf_policy,
    selfplay,
    ui,
    ui_runs,
    vec,
    web,
)

SUITES = {
    **core.BENCHMARKS,
    **registry.BENCHMARKS,
    **datastore.BENCHMARKS,
    **distributed.BENCHMARKS,
    **learn.BENCHMARKS,
    **dagger.BENCHMARKS,
    **rlhf.BENCHMARKS,
    **rlhf_policy.BENCHMARKS,
    **web.BENCHMARKS,
    **ui.BENCHMARKS,
    **ui_runs.BENCHMARKS,
    **vec.BENCHMARKS,
    **selfplay.BENCHMARKS,
    **cogment.BENCHMARKS,
    **objstore.BENCHMARKS,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="short runs (under two minutes in all)"
    )
    parser.add_argument("--only", nargs="+", choices=sorted(SUITES), help="run only these")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    parser.add_argument("--markdown", action="store_true", help="print a Markdown table too")
    args = parser.parse_args(argv)

    console = Console(width=160)
    figures = []
    started = time.perf_counter()
    for name in args.only or list(SUITES):
        console.print(f"[bold]{name}[/bold] ...")
        t0 = time.perf_counter()
        figures += SUITES[name](args.quick)
        console.print(f"  done in {time.perf_counter() - t0:.1f} s")

    table = Table(
        title=f"cogym benchmarks ({os.cpu_count()} cores, {'quick' if args.quick else 'full'})"
    )
    for column in ("benchmark", "baseline", "baseline figure", "cogym figure", "ratio", "target"):
        table.add_column(column)
    for f in figures:
        target = (
            ""
            if f.target is None
            else (f">= {f.target}" if f.higher_is_better else f"<= {f.target}")
        )
        verdict = {True: " [green]met[/green]", False: " [red]missed[/red]", None: ""}[f.met]
        table.add_row(
            f.name,
            f.baseline_name,
            f"{f.baseline:,.1f} {f.unit}",
            f"{f.cogym:,.1f} {f.unit}",
            f"{f.ratio:.3f}",
            target + verdict,
        )
    console.print(table)
    console.print(f"total {time.perf_counter() - started:.0f} s")
    if args.markdown:
        print("| benchmark | baseline | baseline figure | cogym figure | ratio | target |")
        print("|---|---|---|---|---|---|")
        for f in figures:
            target = (
                ""
                if f.target is None
                else (f">= {f.target}" if f.higher_is_better else f"<= {f.target}")
            )
            met = {True: " (met)", False: " (missed)", None: ""}[f.met]
            print(
                f"| {f.name} | {f.baseline_name} | {f.baseline:,.1f} {f.unit} | "
                f"{f.cogym:,.1f} {f.unit} | {f.ratio:.3f} | {target}{met} |"
            )
    if args.json:
        payload = {
            "date": datetime.date.today().isoformat(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "quick": args.quick,
            "figures": [f.as_dict() for f in figures],
        }
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump(payload, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
