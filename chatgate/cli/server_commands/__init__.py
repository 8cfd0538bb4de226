"""Commands that talk to a running server through the SDK (``chatgate.client``)."""
