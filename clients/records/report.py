"""What loading a record file did: per kind accepted / duplicate / rejected, and why lines were rejected."""

from __future__ import annotations

from dataclasses import dataclass, field

from clients.records.model import Kind, Rejected


@dataclass
class Counts:
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0

    def as_dict(self) -> dict[str, int]:
        return {"accepted": self.accepted, "duplicate": self.duplicate, "rejected": self.rejected}


@dataclass
class LoadReport:
    """accepted: stored (customers and accounts are upserts, so an existing one counts as accepted);
    duplicate: a transaction already stored or repeated, or a line whose customer, account or
    balance-day appears again further down the file (the last one is used); rejected: not stored."""

    file: str
    format: str
    counts: dict[Kind, Counts] = field(default_factory=lambda: {kind: Counts() for kind in Kind})
    # Lines rejected before their kind was known (bad JSON, no "kind").
    unreadable: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    # Server rejections beyond the ones it describes (it details the first 1000 of a stream).
    undescribed_rejections: int = 0
    warnings: list[str] = field(default_factory=list)

    def reject(self, rejection: Rejected) -> None:
        self.rejected.append(rejection)
        if rejection.kind is None:
            self.unreadable += 1
        else:
            self.counts[rejection.kind].rejected += 1

    def totals(self) -> Counts:
        return Counts(accepted=sum(c.accepted for c in self.counts.values()),
                      duplicate=sum(c.duplicate for c in self.counts.values()),
                      rejected=sum(c.rejected for c in self.counts.values()) + self.unreadable)

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "format": self.format,
                **{kind.plural: counts.as_dict() for kind, counts in self.counts.items()},
                "unreadable": self.unreadable, "totals": self.totals().as_dict(),
                "rejected": [r.as_dict() for r in sorted(self.rejected, key=lambda r: r.line)],
                "undescribed_rejections": self.undescribed_rejections, "warnings": self.warnings}
