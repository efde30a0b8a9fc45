//! The `journal` and `ledger` commands, run as the real binary.
