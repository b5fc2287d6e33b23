"""Stage 3, publish: the snapshot contract, feeds, the chart runtime, and render (the only writer)."""
