import datetime as dt
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from orders.archive import Archived, archive_batch
from orders.retention import ENDED_STATES


class Command(BaseCommand):
    help = (
        "Archive old ended orders: write each with its seat holds, audit trail and payment attempts to a file "
        "of JSON lines, then delete them, in batches. --dry-run only counts. See docs/operations.md#retention."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than-days", type=float, default=365, help="last change at least this old (365)")
        parser.add_argument(
            "--state",
            action="append",
            choices=[str(state) for state in ENDED_STATES],
            help="only orders in this state (repeat for several; default: every ended state)",
        )
        parser.add_argument(
            "--output", type=Path, help="the file to append to (default: var/archive/orders-<time>.jsonl)"
        )
        parser.add_argument("--batch-size", type=int, default=500, help="orders per transaction (500)")
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be archived; write and delete nothing"
        )

    def handle(self, *args, **options):
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        states = options["state"] or [str(state) for state in ENDED_STATES]
        ended_before = timezone.now() - dt.timedelta(days=options["older_than_days"])
        total, after = Archived(), ""
        output = None if options["dry_run"] else self.output_path(options["output"])
        out = output.open("a", encoding="utf-8") if output else None
        try:
            while True:
                done = archive_batch(
                    states=states, ended_before=ended_before, after=after, size=options["batch_size"], out=out
                )
                if not done.ids:
                    break
                after = done.ids[-1]
                for name in ("orders", "holds", "audit", "attempts"):
                    setattr(total, name, getattr(total, name) + getattr(done, name))
        finally:
            if out:
                out.close()
        verb = "would archive" if options["dry_run"] else f"archived to {output}"
        self.stdout.write(
            f"{verb}: {total.orders} orders ({', '.join(states)}; last change before {ended_before:%Y-%m-%d %H:%M}), "
            f"{total.holds} seat holds, {total.audit} audit entries, {total.attempts} payment attempts"
        )

    @staticmethod
    def output_path(given: Path | None) -> Path:
        path = given or settings.VAR_DIR / "archive" / f"orders-{timezone.now():%Y%m%dT%H%M%S}.jsonl"
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
