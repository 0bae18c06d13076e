"""Does a build's stats.json account for every record? Checked before the output is published.

Every stage counts what it received (``in``), passed on (``out``) and rejected (``rejected``), and every
rejected record goes to the rejects writer (``sink.rejects``). A record that vanishes between or inside
stages (a runner that drops elements, a DoFn that forgets one) therefore breaks one of three identities:

* per stage: ``in + repeated_copies == out + rejected`` (balance's upsampling adds ``repeated_copies``);
* along the select chain (annotation store → sinks), each stage receives what the one before passed on;
* ``sink.rejects`` receives every rejection of every stage (except what ``--sample``/``--limit`` left out).

The annotate phase is not one chain (only web pages go through ``extract``), so there only the per-stage
identity applies. A build that fails any of them is not published: the previous output stays.
"""
from __future__ import annotations

NOT_A_FILTER = {"sink.rejects", "sink.index"}  # writers of side outputs: their input is not the funnel
COUNTED_ONLY = {"sample", "sample.limit"}  # documents a --sample/--limit run leaves out: counted, not written


class AccountingError(RuntimeError):
    """The build's counts do not add up: records were lost (or counted twice) somewhere."""


def accounting_problems(stats: dict) -> list[str]:
    """Every identity ``stats`` (a stats.json) breaks, one line each; empty when every record is accounted for."""
    stages = stats["stages"]
    problems = []
    for name in stats["order"]:
        s = stages[name]
        copies = s["counters"].get("repeated_copies", 0)
        rejected = sum(s["rejected"].values())
        if s["in"] + copies != s["out"] + rejected:
            problems.append(f"{name}: received {s['in']}" + (f" + {copies} repeated copies" if copies else "")
                            + f" but passed on {s['out']} and rejected {rejected}")
    chain = _select_chain(stats["order"])
    for before, after in zip(chain, chain[1:]):
        received = stages.get(after, {"in": 0})["in"]  # a stage that received nothing has no counts at all
        if stages[before]["out"] != received:
            problems.append(f"{before} passed on {stages[before]['out']} documents but {after} received {received}")
    rejected = sum(sum(s["rejected"].values()) for name, s in stages.items() if name not in NOT_A_FILTER | COUNTED_ONLY)
    written = stages.get("sink.rejects", {"in": 0})["in"]
    if rejected != written:
        problems.append(f"stages rejected {rejected} records but the rejects writer received {written}")
    return problems


def check_accounting(stats: dict) -> None:
    problems = accounting_problems(stats)
    if problems:
        raise AccountingError("the build lost track of records, so it is not published: " + "; ".join(problems))


def _select_chain(order: list[str]) -> list[str]:
    """The stages every stored document passes in turn: ``signals`` (the last annotate stage, which every
    document reaches), ``sample.limit`` (select's global ``--limit`` cut, listed early in the funnel order), the
    select stages of stats.json's order, and the data sink. Only stages with counts are listed, except the sink:
    a stage that received nothing has none, so the sink is always checked."""
    if "signals" not in order:
        return []
    between = [name for name in order[order.index("signals") + 1:] if name not in NOT_A_FILTER | {"sink"}]
    return ["signals"] + (["sample.limit"] if "sample.limit" in order else []) + between + ["sink"]
