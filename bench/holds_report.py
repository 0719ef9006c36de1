"""bench/holds.py's report: the table printed, and the comparisons of each faster path with the simpler
one beside it."""

from bench.holds_layouts import DEPLOYED, SIMPLER


def simpler_paths(comparison: list[dict], levels: list[int]) -> list[dict]:
    """The deployed layout against the same layout with a simpler path, per level: the ORM's statements
    instead of PostgreSQL's one statement per seat change, DRF's view instead of the lean path. A faster
    path stays only while it is worth 15% more changes/s or 15% less web CPU (docs/performance.md)."""
    rows = {(row["layout"], row["clients"]): row for row in comparison if "error" not in row}
    found = []
    for path, simpler in SIMPLER.items():
        for clients in levels:
            fast, slow = rows.get((DEPLOYED, clients)), rows.get((simpler, clients))
            if fast and slow:
                fast_cpu, slow_cpu = fast["cpu_ms_per_request"]["web"], slow["cpu_ms_per_request"]["web"]
                found.append(
                    {
                        "path": path,
                        "clients": clients,
                        "per_second": [fast["per_second"], slow["per_second"]],
                        "more_changes_pct": round(100 * (fast["per_second"] / slow["per_second"] - 1), 1),
                        "web_cpu_ms": [fast_cpu, slow_cpu],
                        "less_web_cpu_pct": round(100 * (1 - fast_cpu / slow_cpu), 1),
                    }
                )
    return found


def report(result: dict) -> None:
    print(
        f"Seat holds by serving layout ({result['machine']['cores']} cores, load on the same machine, "
        f"{result['duration_s']:g} s per level)"
    )
    print(
        f"  {'layout':<36} {'clients':>7} {'holds/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'not 200':>7} {'web CPU ms':>10}"
    )
    for row in result["comparison"]:
        if "error" in row:
            print(f"  {row['layout']:<36} {row['clients']:>7} failed: {row['error']}")
            continue
        refused = row["requests"] - row["statuses"].get(200, 0)
        print(
            f"  {row['layout']:<36} {row['clients']:>7} {row['per_second']:>8} {row['p50_ms']:>7} {row['p99_ms']:>7} "
            f"{refused:>7} {row['cpu_ms_per_request']['web']:>10}"
        )
    print(f"Seat holds, {result['server']}, against raw PostgreSQL")
    print(f"  {'clients':>8} {'HTTP/s':>9} {'p99 ms':>8} {'raw/s':>9} {'(clients)':>9} {'HTTP/raw':>9}")
    for h, r in zip(result["http"], result["raw"], strict=False):
        print(
            f"  {h['clients']:>8} {h['per_second']:>9} {h['p99_ms']:>8} {r['per_second']:>9} {r['clients']:>9} "
            f"{h['ratio_to_raw']:>9.3f}"
        )
    print("  CPU per seat hold, ms (the rest: PostgreSQL, Redis, the OS; measured over the whole machine)")
    for h, r in zip(result["http"], result["raw"], strict=False):
        web, raw = h["cpu_ms_per_request"], r["cpu_ms_per_transaction"]
        print(
            f"  {h['clients']:>8} clients: HTTP: web {web['web']}, client {web['client']}, rest {web['rest']}; "
            f"raw: pgbench {raw['pgbench']}, rest {raw['rest']}"
        )
    print("What each faster path is worth, deployed layout, back to back (keep: at least 15%)")
    for p in result["simpler_paths"]:
        (fast, slow), (fast_cpu, slow_cpu) = p["per_second"], p["web_cpu_ms"]
        print(
            f"  {p['path']}, {p['clients']} clients: {fast} against {slow} changes/s ({p['more_changes_pct']:+}%); "
            f"web CPU {fast_cpu} against {slow_cpu} ms ({p['less_web_cpu_pct']}% less)"
        )
    ceiling = result["web_ceiling"]
    print(
        f"  the web stack alone (404s, no database): {ceiling['per_second']}/s at {ceiling['clients']} clients, "
        f"{ceiling['ratio_to_raw']} of the best raw rate"
    )
    hot = result["hot_seat"]
    print(
        f"  hot seat: {hot['requests']} at once -> {hot['statuses']}, exactly one winner: "
        f"{hot['exactly_one_winner']}, p99 {hot['p99_ms']} ms"
    )
