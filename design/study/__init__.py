"""Batch studies: several cases, variations and seeds, one shared Ray queue, one report."""
