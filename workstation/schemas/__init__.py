"""Schemas users register: one module per kind."""
