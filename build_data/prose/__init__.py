"""Prose checks: the pages' text against the snapshot (sections resting on claims, numbers typed by hand)."""
