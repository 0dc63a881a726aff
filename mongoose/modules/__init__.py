"""Per-host modules (mod_*) and the runtime that starts them."""
