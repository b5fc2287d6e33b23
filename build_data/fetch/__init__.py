"""Stage 1, fetch: sources (the only network code), the raw cache, validation, and gathering
every series for a build in the best available mode."""
