//! Bounded and self-healing: journal pruning, map growth up to a ceiling, corrupt values.
