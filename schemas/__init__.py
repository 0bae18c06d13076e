"""Versioned record schemas shared by every stage and every sink."""
