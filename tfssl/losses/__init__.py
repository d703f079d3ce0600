"""Losses for self-supervised objectives (InfoNCE with cross-replica negatives)."""
