"""Developer tools (benchmarks, page weight): not stages of the pipeline."""
