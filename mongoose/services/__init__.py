"""Global services (service_*)."""
