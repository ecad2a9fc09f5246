"""Trust: encryption at rest, the signed audit chain and its keys, acknowledgement tokens, Slack signatures."""
