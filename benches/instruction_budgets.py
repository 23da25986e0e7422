#!/usr/bin/env python3
"""Instructions and allocations per request from `benches/instructions.rs`, checked against the
budgets of issue 9.

    cargo bench --bench instructions -- --output-format=json > target/instructions.jsonl
    python3 benches/instruction_budgets.py target/instructions.jsonl

(`.ci/instructions.sh` does both.) The input is gungraun's JSON output, one benchmark a line.
Every row was measured as `batch_1000` and `batch_11000` from the same warmed-up fixture; one
request costs (count of 11 000 - count of 1 000) / 10 000, for callgrind's `Ir` (instructions)
and DHAT's `TotalBlocks` (heap allocations, a `realloc` counted as one, as in
`tests/allocations.rs`).

Prints one Markdown table and exits 1 when a budget is exceeded, or when a row is missing.
`INSTRUCTION_BUDGETS=report` prints the same table and exits 0 whatever it says.
"""

import json
import os
import re
import sys

# The budgets, per request. `over` names the row a budget is measured from; `None` means the
# budget is on the row's own total. A row without a budget is printed for comparison only.
#
#   instructions: at most this many instructions (over `over`, or in total)
#   allocations:  at most this many heap allocations over `over`
#   target:       the budget where the gate above is looser: printed, not enforced, so
#                 that what is still to gain stays visible (README, "Performance").
#
# An answer the layer makes itself costs two allocations beyond the request: its header map (an
# index table and an entry vector, which any non-empty `HeaderMap` has). Its body is a shared
# reference to bytes rendered once.
#
# Instruction counts are exact for one build. The bench profile compiles this crate as one
# codegen unit (Cargo.toml): split into several, how the harness around each stack was inlined
# depended on how the compiler happened to split the binary, and adding a row moved the others
# by up to 60 instructions. Every gate is the budget but the minimal layer's happy path,
# whose target is not reached: its gate holds what is reached (+504) with a little room. Wrapping
# a service at all (+67), the panic guard around the inner `call` that issue 2 requires (+85)
# and the request context an error needs (+40) leave less than the target for the rest
# (README, "Performance").
BUDGETS = {
    # The happy path (GET /hello -> 200) over the bare Router: cheap, and not one allocation.
    # Gated about 25 above the counts of 2026-12-02 (+471, +409, +592.2), under the issues'
    # budgets (+600, +700): the inner future returned through the panic guard took ~140 off.
    "ok_layer": {"over": "ok_bare", "instructions": 500, "allocations": 0},
    "ok_layer_minimal": {"over": "ok_bare", "instructions": 435, "allocations": 0,
                         "target": {"instructions": 250}},
    # The adaptive limit per resource with the 20-resource policy: on top of `ok_layer`, a route
    # lookup for every request (the fixed limit skips it for a method every resource allows),
    # the resource's limit and the cap, 1 in 16 requests timed. Measured on a paused clock after
    # a warm-up at 20 000 requests a second (benches/instructions.rs, `busy_stack`), so the
    # count no longer follows valgrind's speed. Issue 16's budget is +700; gated at +620.
    "ok_layer_adaptive": {"over": "ok_bare", "instructions": 620, "allocations": 0},
    # The 404 rewrite (GET /missing) over the bare Router's own empty 404.
    "not_found_layer": {"over": "not_found_bare", "instructions": 2000, "allocations": 3},
    "not_found_layer_minimal": {"over": "not_found_bare", "instructions": 2000, "allocations": 3},
    # Answers the layer makes itself: at most 5 000 instructions in total, request construction
    # included (cheaper than the bare Router's own 404), and two allocations.
    "own_405_policy": {"over": "request_only", "total": 5000, "allocations": 2},
    "own_501_planned": {"over": "request_only", "total": 5000, "allocations": 2},
    "own_501_unrecognized": {"over": "request_only", "total": 5000, "allocations": 2},
    "own_503_overloaded": {"over": "request_only", "total": 5000, "allocations": 2},
    "own_503_maintenance": {"over": "request_only", "total": 5000, "allocations": 2},
    "own_504_deadline": {"over": "request_only", "total": 5000, "allocations": 2},
    "own_504_upstream": {"over": "request_only", "total": 5000, "allocations": 2},
    # A 504 through tokio's timer (arming a `Sleep`, parking, the paused clock moving) over what
    # that timer costs alone: the layer's part, which must stay that of its other answers.
    "own_504_timer": {"over": "timer_only", "instructions": 2300, "allocations": 2},
}

# Every row the bench must produce, in the order of the table, and the row it is compared with.
ROWS = {
    "request_only": None,
    "ok_bare": None,
    "ok_layer": "ok_bare",
    "ok_layer_minimal": "ok_bare",
    "ok_layer_adaptive": "ok_bare",
    "ok_peer_stack": "ok_bare",
    "ok_catch_panic": "ok_bare",
    "ok_timeout": "ok_bare",
    "ok_map_response": "ok_bare",
    "not_found_bare": None,
    "not_found_layer": "not_found_bare",
    "not_found_layer_minimal": "not_found_bare",
    "not_found_peer_stack": "not_found_bare",
    "own_405_policy": "request_only",
    "own_501_planned": "request_only",
    "own_501_unrecognized": "request_only",
    "own_503_overloaded": "request_only",
    "own_503_maintenance": "request_only",
    "own_504_deadline": "request_only",
    "own_504_upstream": "request_only",
    "timer_only": None,
    "own_504_timer": "timer_only",
}


def per_request(lines):
    """{row: (instructions, allocations)} per request, from gungraun's JSON lines."""
    counts = {}  # row -> {requests: (Ir, TotalBlocks)}
    for line in lines:
        line = line.strip()
        if not line.startswith("{"):
            continue
        summary = json.loads(line)
        match = re.fullmatch(r"batch_(\d+)", summary["function_name"])
        if not match:
            continue
        metrics = {}
        for profile in summary["profiles"]:
            for name, metric in profile["data"]["total"]["metrics"].items():
                metrics[(profile["tool"], name)] = metric["values"]["new"]
        counts.setdefault(summary["id"], {})[int(match.group(1))] = (
            metrics[("Callgrind", "Ir")],
            metrics[("DHAT", "TotalBlocks")],
        )
    result = {}
    for row, batches in counts.items():
        if len(batches) != 2:
            # A filtered run (`cargo bench --bench instructions -- ok_`) may hold one batch
            # only: the row is then not measured.
            continue
        (small, (ir_small, blocks_small)), (large, (ir_large, blocks_large)) = sorted(
            batches.items()
        )
        requests = large - small
        result[row] = ((ir_large - ir_small) / requests, (blocks_large - blocks_small) / requests)
    return result


def number(value, sign=False):
    """An integer when exact, else one decimal; thin groups of three like the README."""
    text = f"{value:+,.1f}" if sign else f"{value:,.1f}"
    if text.endswith(".0"):
        text = text[:-2]
    return text.replace(",", " ")


def budget_text(budget):
    parts = []
    if "total" in budget:
        parts.append(f"<= {number(budget['total'])} total")
    if "instructions" in budget:
        parts.append(f"<= {number(budget['instructions'], sign=True)}")
    if "allocations" in budget:
        parts.append(f"<= {number(budget['allocations'], sign=True)} allocs")
    text = ", ".join(parts)
    if "target" in budget:
        text += f" (target {budget_text(budget['target'])})"
    return text


def main():
    mode = os.environ.get("INSTRUCTION_BUDGETS", "check")
    if mode not in ("check", "report"):
        raise SystemExit(f"INSTRUCTION_BUDGETS must be 'check' or 'report', not {mode!r}")
    source = open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin
    with source:
        rows = per_request(source)

    failures = []
    print("| row | instructions/req | over baseline | allocs/req | over baseline | budget | ok |")
    print("|---|---|---|---|---|---|---|")
    for row, baseline in ROWS.items():
        if row not in rows:
            failures.append(f"{row}: not measured")
            print(f"| {row} | — | — | — | — | {budget_text(BUDGETS[row]) if row in BUDGETS else '—'} | FAIL |")
            continue
        instructions, allocations = rows[row]
        over_ir = over_allocs = None
        if baseline in rows:
            over_ir = instructions - rows[baseline][0]
            over_allocs = allocations - rows[baseline][1]
        budget = BUDGETS.get(row)
        verdict = "—"
        if budget is not None:
            ok = over_ir is not None
            if ok and "total" in budget:
                ok = instructions <= budget["total"]
            if ok and "instructions" in budget:
                ok = over_ir <= budget["instructions"]
            if ok:
                ok = over_allocs <= budget["allocations"]
            verdict = "ok" if ok else "FAIL"
            if not ok:
                failures.append(f"{row}: {number(instructions)} instructions/req "
                                f"({number(over_ir, sign=True) if over_ir is not None else '?'} "
                                f"over {baseline}), {number(allocations)} allocs/req; "
                                f"budget {budget_text(budget)} over {baseline}")
        print(
            f"| {row} | {number(instructions)} "
            f"| {number(over_ir, sign=True) + ' (' + baseline + ')' if over_ir is not None else '—'} "
            f"| {number(allocations)} "
            f"| {number(over_allocs, sign=True) if over_allocs is not None else '—'} "
            f"| {budget_text(budget) if budget else '—'} | {verdict} |"
        )
    short = []
    for row, budget in BUDGETS.items():
        target, baseline = budget.get("target"), ROWS[row]
        if target is None or row not in rows or baseline not in rows:
            continue
        instructions, allocations = rows[row]
        over_ir, over_allocs = instructions - rows[baseline][0], allocations - rows[baseline][1]
        if ("total" in target and instructions > target["total"]) or (
            "instructions" in target and over_ir > target["instructions"]) or (
            "allocations" in target and over_allocs > target["allocations"]):
            short.append(f"{row}: {number(instructions)} ({number(over_ir, sign=True)}), "
                         f"{number(over_allocs, sign=True)} allocs; target {budget_text(target)}")
    if short:
        print("\nissue targets not met yet (not enforced):")
        for line in short:
            print(f"  {line}")
    unknown = sorted(set(rows) - set(ROWS))
    if unknown:
        print(f"\nrows measured but not in the table: {', '.join(unknown)}")

    print()
    if failures:
        print(f"{len(failures)} budget(s) exceeded:")
        for failure in failures:
            print(f"  {failure}")
        if mode == "report":
            print("INSTRUCTION_BUDGETS=report: not failing.")
            return 0
        return 1
    print("every budget holds.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
