"""Stage 2, compute: pure metric functions, the metric catalog, signals (claims and watchlist)
and chart specs. Reads validated series; writes nothing."""
