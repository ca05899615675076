"""Scheduled work: rank refresh, active-user counts."""
