"""The engine's fixed bounds (output size, range iterations, nesting depth)."""

MAX_OUTPUT_CHARS = 16 * 1024 * 1024
MAX_RANGE_ITERATIONS = 1_000_000
MAX_NESTING = 100
