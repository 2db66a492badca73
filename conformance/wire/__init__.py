"""Talking to a target: the HTTP client, the transcript of what was sent and received, and the
one politeness policy (pacing, Retry-After, backoff). It knows no pytest and no checks."""
