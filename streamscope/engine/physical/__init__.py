"""Physical operators and the logical -> physical planner."""
