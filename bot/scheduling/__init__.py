"""Sending what is due (the outbox dispatcher) and the clock ticks that drive follow-ups."""
