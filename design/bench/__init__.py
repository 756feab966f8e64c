"""``lcen bench``: the comparisons researchers reproduce (operation, design, scaling)."""
