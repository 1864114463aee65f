"""Widgets shared by the wizard's screens (thin wrappers over Textual's own)."""
