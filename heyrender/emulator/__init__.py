"""A HeyGen-compatible API server for rehearsals, tests and benchmarks."""
