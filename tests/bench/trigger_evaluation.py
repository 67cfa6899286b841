"""The live evaluation alone (`python -m tests.bench.trigger_evaluation`; no store, not in `make bench`): the
triggers bench's 50 rules decided at every posting of synthetic batches, as the bus handler does between its
reads and its writes (server.services.triggers.evaluation: _Batch and _evaluate_postings), so that two trees
can be compared on the rule loop without the noise of a whole bench (docs/triggers.md#what-evaluation-costs).

Accounts like the bench's seed (a usual balance log-uniform from 300 to 60,000, a day row every 5 to 9 days
over 120 days, a quarter of customers with overdraft protection, a third with savings); batches of 1,250
postings on random accounts, most moving a tenth of the balance or less, one in twenty up to 60%. A fixed
random stream. Prints the best of `--repeats` runs' CPU and a checksum of the firings (rule, transaction and
the values shown) and state changes, the same for two trees that decide the same.

`--facts on-demand`: as the handler runs when only guarded rules read facts, the first pass with no
customer's facts read, then the accounts whose rules asked again with their customers' (the read between
is not timed); prints how many were asked again and whether the decisions are those of one pass with
every customer's facts (in another order: the checksum is not comparable)."""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import random
import time
from decimal import Decimal

from server.domain.events import Money, Posting
from server.domain.ingest.model import Direction
from server.domain.segments.attributes import AttributeCatalogue
from server.domain.segments.evaluate import CustomerFacts
from server.domain.triggers.rules import Audience, BannerAction, RuleDefinition, RuleStatus, TriggerRule
from server.domain.triggers.scaled_series import ScaledColumns
from server.domain.triggers.unread_facts import UNREAD_FACTS
from server.services.triggers.evaluation import _Batch, _customers_of, _evaluate_postings, _evaluate_with_facts
from server.services.triggers.live_rules import LiveRule, compile_rule
from tests.bench.triggers import HISTORY_DAYS, rule_conditions

NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
POSTINGS_PER_BATCH = 1_250
CATALOGUE = AttributeCatalogue.of([])
BANNER = BannerAction("Offer", "Something for you", "See", "https://bank.example/offer", dt.timedelta(days=28))


def _cents(amount: float) -> int:
    """An amount rounded to cents, scaled (whole ten-thousandths)."""
    return round(amount * 100) * 100


def live_rules() -> list[LiveRule]:
    return [compile_rule(TriggerRule(f"r{number:02d}", RuleDefinition(
        f"Rule {number}", "", Audience.everyone(), condition, (BANNER,), cooldown=dt.timedelta(days=30)),
        RuleStatus.ACTIVE, 1, "ana", "ana", NOW, NOW), CATALOGUE) for number, condition in enumerate(rule_conditions())]


def accounts(count: int, draw: random.Random) -> tuple[dict[str, ScaledColumns], dict[str, float],
                                                       dict[str, CustomerFacts]]:
    columns, levels, facts = {}, {}, {}
    today = NOW.date()
    for number in range(count):
        account, customer = f"a{number}", f"c{number}"
        level = levels[account] = 300 * 200 ** draw.random()
        rows = ScaledColumns.empty()
        day = today - dt.timedelta(days=HISTORY_DAYS)
        while day < today - dt.timedelta(days=1):
            closing = level * (1 + draw.uniform(-0.1, 0.1))
            rows.days.append(day.toordinal())
            rows.closing.append(_cents(closing))
            rows.fed.append(None)
            rows.low.append(_cents(closing - level * draw.uniform(0, 0.1)))
            rows.postings.append(3)
            rows.totals.append(_cents(level * draw.uniform(0.1, 0.5)))
            rows.overdraft.append(False)
            day += dt.timedelta(days=draw.randrange(5, 10))
        columns[account] = rows
        held = {kind for kind, share in (("OVERDRAFT_PROTECTION", 4), ("SAVINGS", 3)) if draw.randrange(share) == 0}
        facts[customer] = CustomerFacts(holdings=frozenset(held))
    return columns, levels, facts


def batches(count: int, levels: dict[str, float], draw: random.Random) -> list[dict[str, list[Posting]]]:
    made = []
    names = list(levels)
    for batch in range(count):
        by_account: dict[str, list[Posting]] = {}
        for number in range(POSTINGS_PER_BATCH):
            account = draw.choice(names)
            level = levels[account]
            share = draw.uniform(-0.6, 0.5) if draw.random() < 0.05 else draw.uniform(-0.12, 0.1)
            amount, after = Decimal(_cents(level * share)) / 10_000, Decimal(_cents(level * (1 + share))) / 10_000
            by_account.setdefault(account, []).append(Posting(
                f"t{batch}-{number}", account, f"c{account[1:]}", "CHECKING", "BANK", Money(amount, "EUR"),
                Money(after, "EUR"), NOW - dt.timedelta(minutes=POSTINGS_PER_BATCH - number),
                Direction.CREDIT if amount >= 0 else Direction.DEBIT))
        made.append(by_account)
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=20_000)
    parser.add_argument("--batches", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--facts", choices=("read", "on-demand"), default="read")
    arguments = parser.parse_args()
    draw = random.Random(7)
    rules = live_rules()
    columns, levels, facts = accounts(arguments.accounts, draw)
    stream = batches(arguments.batches, levels, draw)
    gc.freeze()  # the seed's objects out of the collector's way, as the workers' start-up does
    best, digest = float("inf"), ""
    asked = 0
    same = True
    for _ in range(arguments.repeats):
        checksum = hashlib.sha256()
        spent = 0.0
        asked = 0
        for by_account in stream:
            # Each batch's series fresh, as read from the store (the evaluation appends to them).
            read = {account: ScaledColumns._make(map(list, columns[account])) for account in by_account}
            held = dict.fromkeys(by_account, 0)
            if arguments.facts == "read":
                batch = _Batch(NOW, rules, _everyone(rules), facts, set(), {})
                began = time.process_time()
                _evaluate_postings(batch, by_account, held, read)
                spent += time.process_time() - began
            else:
                batch, cpu, again = _on_demand(rules, facts, by_account, held, read)
                spent += cpu
                asked += again
                every = _Batch(NOW, rules, _everyone(rules), facts, set(), {})
                _evaluate_postings(every, by_account, held, {account: ScaledColumns._make(map(list, columns[account]))
                                                             for account in by_account})
                same = same and _decisions(batch) == _decisions(every)
            for live, firing in batch.firings:
                shown = sorted(firing.values.items())
                checksum.update(repr((live.rule.rule_id, firing.transaction_id, shown)).encode())
            checksum.update(repr((sorted(batch.became_true), sorted(batch.became_false))).encode())
        best, digest = min(best, spent), checksum.hexdigest()[:16]
    postings = arguments.batches * POSTINGS_PER_BATCH
    print(f"live evaluation alone: {len(rules)} rules, {postings:,} postings in batches of {POSTINGS_PER_BATCH:,} "
          f"over {arguments.accounts:,} accounts: best of {arguments.repeats} {best * 1000:.0f} ms of CPU, "
          f"{best / postings * 1e6:.1f} us a posting; checksum {digest}")
    if arguments.facts == "on-demand":
        print(f"facts on demand: {asked:,} accounts of {postings:,} postings evaluated again with their customer's "
              f"facts; decisions {'the same as' if same else 'NOT the same as'} with every customer's facts read")


def _on_demand(rules: list[LiveRule], facts: dict[str, CustomerFacts], by_account: dict[str, list[Posting]],
               held: dict[str, int], read: dict[str, ScaledColumns]) -> tuple[_Batch, float, int]:
    """The batch decided as the handler does with facts read on demand; its CPU (the read between the passes
    left out) and the accounts evaluated again."""
    batch = _Batch(NOW, rules, _everyone(rules), {}, set(), {},
                   absent_facts=UNREAD_FACTS)
    began = time.process_time()
    unread = _evaluate_postings(batch, by_account, held, read)
    spent = time.process_time() - began
    asked = {customer: facts[customer] for customer in _customers_of(by_account, unread)}
    began = time.process_time()
    _evaluate_with_facts(batch, by_account, unread, asked, held, read)
    return batch, spent + time.process_time() - began, len(unread)


def _everyone(rules: list[LiveRule]) -> dict[str, set[str] | None]:
    """Each rule's audience as the batch takes it: everyone (None)."""
    return {live.rule.rule_id: None for live in rules}


def _decisions(batch: _Batch) -> tuple[object, ...]:
    return (sorted((live.rule.rule_id, firing.transaction_id, sorted(firing.values.items()))
                   for live, firing in batch.firings), sorted(batch.became_true), sorted(batch.became_false),
            sorted(batch.changed_rows))


if __name__ == "__main__":
    main()
