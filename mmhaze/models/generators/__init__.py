"""Registered blocks of this role (see DESIGN.md §2)."""
