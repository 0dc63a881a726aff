"""Tests of mongoose.config: the TOML schema, the loader and the generated docs."""
