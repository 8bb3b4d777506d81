"""Report storages, statistics and markdown writers (SPEC §11); pure model code, no Qt and no event wiring."""
