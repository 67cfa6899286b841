"""`python -m tests.bench.berka_amounts [trans.asc]`: the figures tests/bench/amounts.py is built on, from
the Berka transactions (amounts in CZK): per kind of row, its share, median and log-normal fit."""

from __future__ import annotations

import csv
import math
import statistics
import sys
from collections import defaultdict
from pathlib import Path

TRANSACTIONS = Path("/work/shared/data/berka/trans.asc")
COLUMNS = 10
MIN_ROWS = 100  # kinds rarer than this are left out


def main(path: Path = TRANSACTIONS) -> None:
    by_kind: dict[str, list[float]] = defaultdict(list)
    balances: list[float] = []
    with path.open(newline="") as file:
        rows = csv.reader(file, delimiter=";")
        next(rows)
        for row in rows:
            if len(row) != COLUMNS:
                continue  # the file's last row is cut off
            amount, balance = float(row[5]), float(row[6])
            by_kind["/".join(part for part in (row[3], row[4], row[7].strip()) if part)].append(amount)
            balances.append(balance)
    total = len(balances)
    print(f"{total:,} rows; {sum(b < 0 for b in balances) / total:.2%} leave a negative balance")
    print(f"{'type/operation/k_symbol':<32} {'rows':>6} {'share':>6} {'median':>9} {'mu':>6} {'sigma':>6}")
    for kind, amounts in sorted(by_kind.items(), key=lambda item: -len(item[1])):
        if len(amounts) < MIN_ROWS:
            continue
        logs = [math.log(amount) for amount in amounts if amount > 0]
        print(f"{kind:<32} {len(amounts):>6,} {len(amounts) / total:>6.3f} {statistics.median(amounts):>9,.1f} "
              f"{statistics.mean(logs):>6.3f} {statistics.pstdev(logs):>6.3f}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else TRANSACTIONS)
