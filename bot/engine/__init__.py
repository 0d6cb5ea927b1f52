"""Channel-neutral events, replies and the dispatcher that connects them to handlers."""
