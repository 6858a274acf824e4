"""Real network software the tests and benchmarks drive (needs root): see ``frr``."""
