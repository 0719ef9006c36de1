"""The buckets of expiry lateness (deadline to EXPIRED): /metrics' histogram (orders/metrics.py) and the
dashboard's quantiles (operations/selectors.py) use the same ones, so the two agree."""

EXPIRY_BUCKETS_SECONDS = (0.1, 0.25, 0.5, 1, 2, 5, 10, 30)
