"""Deciding and delivering alerts: the severity policy, the lifecycle, signing, receivers and the dispatcher."""
