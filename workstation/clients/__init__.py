"""Clients: pure business logic; they never read a context variable."""
