"""Channel adapters: translate platform updates to neutral events and replies to API calls."""
