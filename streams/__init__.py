"""Keeping state: the Faust app factory, topics, tables and agents, and the pure logic they call."""
