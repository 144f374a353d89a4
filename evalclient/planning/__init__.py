"""What runs where: the plan of deployments, GPU slots and sizing, the schedule, hardware fit, and the
plan's views (terminal and JSON)."""
