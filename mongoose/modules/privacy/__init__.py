"""Privacy lists (XEP-0016) shared by ``mod_privacy`` and ``mod_blocking`` (XEP-0191)."""

__all__ = ["items", "rules"]
