"""How a tool reports: a PASS or FAIL line per check as it runs, notes, aligned tables,
and at the end how many checks passed (the exit code follows)."""

results: list[tuple[bool, str, str]] = []  # (passed, name, detail), this run's checks


def check(name: str, ok, detail: str = "") -> bool:
    """Record and print one check; whether it passed."""
    results.append((bool(ok), name, detail))
    print(f"{'PASS' if ok else 'FAIL'}  {name}" + (f"  ({detail})" if detail else ""), flush=True)
    return bool(ok)


def failed() -> list[str]:
    return [name for ok, name, _ in results if not ok]


def summary(title: str) -> int:
    """Print how many checks passed; the exit code: 1 if any failed."""
    print(f"\n{title}: {len(results) - len(failed())} of {len(results)} checks passed")
    return 1 if failed() else 0


def note(message: str) -> None:
    """A line of what is going on, indented under the checks."""
    print(f"      {message}", flush=True)


def table(rows: list[tuple[str, ...]]) -> None:
    """Print rows as columns, the first row a header; the first column left-aligned, the
    others right-aligned."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        print(
            "  ".join(
                cell.rjust(w) if n and i else cell.ljust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
