"""Real local HTTP servers that speak the platforms' protocols, for the real SDKs to talk to."""
