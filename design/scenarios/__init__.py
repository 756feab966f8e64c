"""Scenario sets: a design judged, and searched for, under changed demand, prices and
weather (``lcen stress``, ``lcen design --scenarios``)."""
